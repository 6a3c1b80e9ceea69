//! The dependency graph of `after=`: which service waits for which.
//! Pure data over table indices, rebuilt whenever the table changes
//! (names resolve to indices, which insertions and removals shift).
//! Both directions are kept as compressed rows, so "what does it wait
//! for" and "who waits for it" are slices. Cycles are found once per
//! build; every member is marked.

use crate::limits::{MAX_EDGES, MAX_SERVICES};
use heapless::Vec;

/// A table index, small enough to keep two rows of them cheap.
type Ix = u16;

/// One direction: the neighbours of node `i` are
/// `to[first[i]..first[i + 1]]`.
struct Rows {
    first: [Ix; MAX_SERVICES + 1],
    to: [Ix; MAX_EDGES],
}

impl Rows {
    const fn new() -> Self {
        Rows { first: [0; MAX_SERVICES + 1], to: [0; MAX_EDGES] }
    }

    fn of(&self, i: usize) -> &[Ix] {
        let (a, b) = (self.first.get(i).copied().unwrap_or(0), self.first.get(i + 1).copied().unwrap_or(0));
        self.to.get(usize::from(a)..usize::from(b)).unwrap_or(&[])
    }

    /// Fills these rows with the other direction of `fwd`, by counting:
    /// no sort.
    fn reverse(&mut self, n: usize, fwd: &Rows) {
        self.first = [0; MAX_SERVICES + 1];
        for i in 0..n {
            for &j in fwd.of(i) {
                if let Some(c) = self.first.get_mut(usize::from(j) + 1) {
                    *c += 1;
                }
            }
        }
        let mut sum = 0;
        for c in self.first.iter_mut() {
            sum += *c;
            *c = sum;
        }
        let mut next = self.first;
        for i in 0..n {
            for &j in fwd.of(i) {
                let Some(at) = next.get_mut(usize::from(j)) else { continue };
                if let Some(t) = self.to.get_mut(usize::from(*at)) {
                    *t = i as Ix;
                }
                *at += 1;
            }
        }
    }
}

pub struct Graph {
    n: usize,
    /// What each service is after.
    deps: Rows,
    /// Who is after each service.
    dependents: Rows,
    /// Members of a cycle, one bit each.
    cyclic: [u64; MAX_SERVICES / 64],
}

/// The edges did not all fit: this service's were dropped from here on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow(pub usize);

/// What `build` asks of a caller: `deps_of(i, add)`.
type DepsOf<'a> = dyn FnMut(usize, &mut dyn FnMut(usize)) + 'a;

impl Graph {
    pub const fn new() -> Self {
        Graph { n: 0, deps: Rows::new(), dependents: Rows::new(), cyclic: [0; MAX_SERVICES / 64] }
    }

    /// Builds the graph of `n` services; `deps_of(i, add)` calls `add(j)`
    /// for every service `j` that `i` is after (names already resolved;
    /// repeats are fine).
    pub fn build(&mut self, n: usize, mut deps_of: impl FnMut(usize, &mut dyn FnMut(usize))) -> Result<(), Overflow> {
        self.build_dyn(n, &mut deps_of)
    }

    /// `build`, one copy for every caller.
    #[inline(never)]
    fn build_dyn(&mut self, n: usize, deps_of: &mut DepsOf<'_>) -> Result<(), Overflow> {
        let n = n.min(MAX_SERVICES);
        self.n = n;
        let mut k = 0usize;
        let mut overflow = None;
        let Rows { first, to } = &mut self.deps;
        for i in 0..n {
            let start = k;
            if let Some(f) = first.get_mut(i) {
                *f = start as Ix;
            }
            deps_of(i, &mut |j| {
                let known = to.get(start..k).is_some_and(|row| row.contains(&(j as Ix)));
                if j >= n || known {
                    return;
                }
                match to.get_mut(k) {
                    Some(t) => {
                        *t = j as Ix;
                        k += 1;
                    }
                    None if overflow.is_none() => overflow = Some(i),
                    None => {}
                }
            });
        }
        for f in first.iter_mut().skip(n) {
            *f = k as Ix;
        }
        let Self { deps, dependents, .. } = self;
        dependents.reverse(n, deps);
        self.find_cycles();
        overflow.map_or(Ok(()), |i| Err(Overflow(i)))
    }

    /// The services `i` is after.
    pub fn deps(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.deps.of(i).iter().map(|&j| usize::from(j))
    }

    /// The services that are after `i`.
    pub fn dependents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.dependents.of(i).iter().map(|&j| usize::from(j))
    }

    pub fn in_cycle(&self, i: usize) -> bool {
        self.cyclic.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn mark(&mut self, i: usize) {
        if let Some(w) = self.cyclic.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Marks every node that lies on a cycle: depth-first, without
    /// recursion; a back edge to a node on the path closes a cycle, and
    /// every node from it to the top of the path is on it.
    fn find_cycles(&mut self) {
        self.cyclic = [0; MAX_SERVICES / 64];
        // 0 unseen, 1 on the path, 2 done.
        let mut color = [0u8; MAX_SERVICES];
        let mut path: Vec<(Ix, Ix), MAX_SERVICES> = Vec::new();
        for root in 0..self.n {
            if color.get(root) != Some(&0) {
                continue;
            }
            let _ = path.push((root as Ix, 0));
            if let Some(c) = color.get_mut(root) {
                *c = 1;
            }
            while let Some(&(node, next)) = path.last() {
                let node = usize::from(node);
                let Some(&j) = self.deps.of(node).get(usize::from(next)) else {
                    path.pop();
                    if let Some(c) = color.get_mut(node) {
                        *c = 2;
                    }
                    continue;
                };
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                let j = usize::from(j);
                match color.get(j) {
                    Some(0) => {
                        if let Some(c) = color.get_mut(j) {
                            *c = 1;
                        }
                        let _ = path.push((j as Ix, 0));
                    }
                    Some(1) => {
                        let from = path.iter().position(|&(p, _)| usize::from(p) == j).unwrap_or(0);
                        for &(m, _) in path.iter().skip(from) {
                            self.mark(usize::from(m));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Calls `f` with the nodes of a shortest cycle through `i`, starting
    /// and ending with `i` (`a -> b -> a`); nothing when `i` is on none.
    pub fn cycle(&self, i: usize, mut f: impl FnMut(usize)) {
        self.cycle_dyn(i, &mut f);
    }

    /// `cycle`, one copy for every caller.
    #[inline(never)]
    fn cycle_dyn(&self, i: usize, f: &mut dyn FnMut(usize)) {
        if !self.in_cycle(i) {
            return;
        }
        // Breadth-first from i along deps, inside the cycle members.
        let mut parent = [Ix::MAX; MAX_SERVICES];
        let mut queue: Vec<Ix, MAX_SERVICES> = Vec::new();
        let _ = queue.push(i as Ix);
        let mut head = 0;
        let mut last = None;
        while let Some(&node) = queue.get(head) {
            head += 1;
            for j in self.deps(usize::from(node)) {
                if j == i {
                    last = Some(usize::from(node));
                    break;
                }
                if self.in_cycle(j) && parent.get(j) == Some(&Ix::MAX) {
                    if let Some(p) = parent.get_mut(j) {
                        *p = node;
                    }
                    let _ = queue.push(j as Ix);
                }
            }
            if last.is_some() {
                break;
            }
        }
        // Walk back from the last node to i, then print forwards.
        let mut back: Vec<Ix, MAX_SERVICES> = Vec::new();
        let mut at = last;
        while let Some(node) = at.filter(|&n| n != i) {
            let _ = back.push(node as Ix);
            at = parent.get(node).map(|&p| usize::from(p)).filter(|&p| p != usize::from(Ix::MAX));
        }
        f(i);
        for &node in back.iter().rev() {
            f(usize::from(node));
        }
        f(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph from `(dependent, dependency)` pairs.
    fn graph(n: usize, edges: &[(usize, usize)]) -> Box<Graph> {
        let mut g = Box::new(Graph::new());
        g.build(n, |i, add| {
            for &(a, b) in edges {
                if a == i {
                    add(b);
                }
            }
        })
        .unwrap();
        g
    }

    fn cycle_of(g: &Graph, i: usize) -> std::vec::Vec<usize> {
        let mut v = std::vec::Vec::new();
        g.cycle(i, |n| v.push(n));
        v
    }

    #[test]
    fn both_directions() {
        // 2 after 0 and 1; 3 after 2.
        let g = graph(4, &[(2, 0), (2, 1), (3, 2), (2, 0)]);
        assert_eq!(g.deps(2).collect::<std::vec::Vec<_>>(), [0, 1]);
        assert_eq!(g.deps(3).collect::<std::vec::Vec<_>>(), [2]);
        assert_eq!(g.deps(0).count(), 0);
        assert_eq!(g.dependents(0).collect::<std::vec::Vec<_>>(), [2]);
        assert_eq!(g.dependents(2).collect::<std::vec::Vec<_>>(), [3]);
        assert_eq!(g.dependents(3).count(), 0);
        assert!((0..4).all(|i| !g.in_cycle(i)));
        assert_eq!(g.deps(99).count(), 0);
    }

    #[test]
    fn cycles_of_every_length() {
        for len in 1..=40 {
            // 0 -> 1 -> ... -> len-1 -> 0, plus a tail node after 0 and a
            // node the cycle is after.
            let mut edges: std::vec::Vec<(usize, usize)> = (0..len).map(|i| (i, (i + 1) % len)).collect();
            edges.push((len, 0));
            edges.push((0, len + 1));
            let g = graph(len + 2, &edges);
            for i in 0..len {
                assert!(g.in_cycle(i), "len {len} node {i}");
            }
            assert!(!g.in_cycle(len) && !g.in_cycle(len + 1), "len {len}");
            let c = cycle_of(&g, 0);
            assert_eq!(c.len(), len + 1, "len {len}: {c:?}");
            assert_eq!((c[0], c[len]), (0, 0));
            for w in c.windows(2) {
                assert!(edges.contains(&(w[0], w[1])), "{w:?} not an edge");
            }
        }
    }

    #[test]
    fn shortest_cycle_is_named() {
        // 0 -> 1 -> 0 and 0 -> 2 -> 3 -> 0.
        let g = graph(4, &[(0, 1), (1, 0), (0, 2), (2, 3), (3, 0)]);
        assert_eq!(cycle_of(&g, 0), [0, 1, 0]);
        assert_eq!(cycle_of(&g, 3), [3, 0, 2, 3]);
    }

    #[test]
    fn diamonds_are_not_cycles() {
        let g = graph(4, &[(3, 1), (3, 2), (1, 0), (2, 0)]);
        assert!((0..4).all(|i| !g.in_cycle(i)));
        assert_eq!(cycle_of(&g, 3), std::vec::Vec::<usize>::new());
    }

    #[test]
    fn rebuild_drops_and_adds_edges() {
        let mut g = graph(3, &[(0, 1), (1, 0)]);
        assert!(g.in_cycle(0));
        g.build(3, |i, add| {
            if i == 2 {
                add(0);
            }
        })
        .unwrap();
        assert!(!g.in_cycle(0) && !g.in_cycle(1));
        assert_eq!(g.deps(0).count(), 0);
        assert_eq!(g.dependents(0).collect::<std::vec::Vec<_>>(), [2]);
        // Fewer nodes: edges to the dropped ones are ignored.
        g.build(1, |_, add| add(2)).unwrap();
        assert_eq!(g.deps(0).count(), 0);
    }

    #[test]
    fn too_many_edges_is_a_value() {
        let mut g = Box::new(Graph::new());
        let r = g.build(MAX_SERVICES, |i, add| {
            for j in 0..8 {
                add((i + j + 1) % MAX_SERVICES);
            }
        });
        assert_eq!(r, Err(Overflow(MAX_EDGES / 8)));
        // A full chain of every service fits and has no cycle.
        let r = g.build(MAX_SERVICES, |i, add| {
            if i > 0 {
                add(i - 1);
            }
        });
        assert_eq!(r, Ok(()));
        assert!((0..MAX_SERVICES).all(|i| !g.in_cycle(i)));
        assert_eq!(g.dependents(0).collect::<std::vec::Vec<_>>(), [1]);
    }
}
