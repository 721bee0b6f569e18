//! Deadlock detection on a copy of the wait-for graph: the cycle finder, its confirmation over two samples, and the cycle in words. Pure.
//!
//! Every worker records, in the shared ledger, the account locks it holds and
//! the one lock it is waiting for (at most one: a worker blocks in a single
//! lock call at a time), and every account lock records its holder. The
//! coordinator copies those words into a [`Snapshot`] every few milliseconds.
//!
//! In the wait-for graph a worker points at the holder of the lock it waits
//! for. Since a worker waits for at most one lock and a lock has at most one
//! holder, every worker has at most one successor: the graph is a set of
//! chains, and a chain either ends (at a worker that is not waiting, or at a
//! free lock) or runs into a cycle. A cycle is a deadlock: every worker in it
//! waits for the next, forever.
//!
//! # Torn snapshots, and why one sample is not enough
//!
//! The snapshot is read word by word while the workers run, so it is not an
//! instant: a holder word may already be cleared while the worker's own
//! `holds` list still names the lock, or the reverse. Two rules keep such a
//! torn view from becoming a false deadlock:
//!
//! 1. an edge `w -> h` (w waits for lock L, held by h) counts only when both
//!    sides agree: L's holder word names h *and* h's own `holds` list names L;
//! 2. a cycle is reported ([`confirm`], [`Detector`]) only when it is found in
//!    two samples taken apart, identical in both, and no worker of the cycle
//!    made progress between them (its progress counter, which a worker bumps
//!    on every lock it takes and every lock it releases, is unchanged).
//!
//! A real deadlock passes both rules forever; a trial that is merely slow
//! (a worker holding a lock through a long window) has no cycle at all, since
//! the chain ends at the worker in its window, which waits for nothing.
//!
//! Workers are indexes from 0 (shown `T1`, `T2`, ...), locks are account
//! numbers from 1 (shown `#1`, `#2`, ...).

use std::collections::BTreeMap;

/// A worker's index in the trial, from 0 (`T1` is 0).
pub type WorkerId = u32;
/// An account lock: the account's number, from 1 (`#1` is 1).
pub type LockId = u32;

/// What one worker said about itself in one sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerState {
    /// The locks it holds, in any order.
    pub holds: Vec<LockId>,
    /// The lock it is blocked on (or about to block on), if any.
    pub waits_for: Option<LockId>,
    /// Bumped on every lock taken and every lock released.
    pub progress: u64,
}

/// One sample of the wait-for graph: every worker's own words and every
/// lock's holder word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Indexed by [`WorkerId`].
    pub workers: Vec<WorkerState>,
    /// The holder of each lock that is held; a lock missing here is free.
    pub holders: BTreeMap<LockId, WorkerId>,
}

/// One worker of a deadlock cycle: what it holds and the lock it waits for,
/// which the next worker of the cycle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub worker: WorkerId,
    /// Sorted ascending.
    pub holds: Vec<LockId>,
    pub waits_for: LockId,
}

/// A cycle of the wait-for graph. `cycle[i]` waits for a lock that
/// `cycle[i + 1]` holds, and the last waits for one the first holds. The
/// cycle starts at its lowest worker, so the same cycle found in two samples
/// compares equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlock {
    pub cycle: Vec<Link>,
}

impl Snapshot {
    /// The worker `w` waits for, if the edge is agreed by both sides (rule 1).
    fn successor(&self, w: WorkerId) -> Option<WorkerId> {
        let lock = self.workers.get(w as usize)?.waits_for?;
        let holder = *self.holders.get(&lock)?;
        let agreed = self
            .workers
            .get(holder as usize)
            .is_some_and(|h| h.holds.contains(&lock));
        agreed.then_some(holder)
    }

    fn link(&self, w: WorkerId) -> Link {
        let state = &self.workers[w as usize];
        let mut holds = state.holds.clone();
        holds.sort_unstable();
        holds.dedup();
        Link {
            worker: w,
            holds,
            waits_for: state.waits_for.expect("a worker on a cycle waits"),
        }
    }
}

impl Snapshot {
    /// A snapshot of the words the ledger keeps: per worker `(holds,
    /// waits_for, progress)`, where bit `a` of `holds` is account `a` (from
    /// 0) and `waits_for` is 0 for none or 1 + an account (any other value,
    /// such as the bank's one lock, cannot be part of a cycle and is left
    /// out); per account the holder word, 0 for free or 1 + a worker.
    ///
    /// A worker that already holds the lock it says it waits for has just
    /// taken it and not yet cleared its wait (the ledger publishes the hold
    /// first): it waits for nothing. Read as a wait, it would close a cycle
    /// with itself for as long as it is preempted between the two words.
    pub fn of_words(workers: &[(u64, u64, u64)], holders: &[u32]) -> Snapshot {
        let accounts = holders.len() as u64;
        Snapshot {
            workers: workers
                .iter()
                .map(|&(holds, waits_for, progress)| {
                    let wanted = (1..=accounts).contains(&waits_for);
                    let taken = wanted && holds >> (waits_for - 1) & 1 == 1;
                    WorkerState {
                        holds: (0..64)
                            .filter(|a| holds >> a & 1 == 1)
                            .map(|a| a + 1)
                            .collect(),
                        waits_for: (wanted && !taken).then_some(waits_for as LockId),
                        progress,
                    }
                })
                .collect(),
            holders: holders
                .iter()
                .enumerate()
                .filter(|(_, h)| **h != 0)
                .map(|(a, h)| (a as LockId + 1, h - 1))
                .collect(),
        }
    }
}

/// Every cycle of the snapshot's wait-for graph, each starting at its lowest
/// worker, sorted by that worker. Workers that merely wait on a cycle (a
/// chain that runs into it) are not part of it. Linear in the number of workers.
pub fn find_cycles(snapshot: &Snapshot) -> Vec<Deadlock> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let n = snapshot.workers.len();
    let mut mark = vec![Mark::New; n];
    let mut found = Vec::new();
    let mut path: Vec<WorkerId> = Vec::new();
    for start in 0..n as WorkerId {
        if mark[start as usize] != Mark::New {
            continue;
        }
        path.clear();
        let mut w = Some(start);
        while let Some(cur) = w {
            match mark[cur as usize] {
                Mark::New => {
                    mark[cur as usize] = Mark::OnPath;
                    path.push(cur);
                    w = snapshot.successor(cur);
                }
                Mark::OnPath => {
                    // The walk came back to a worker of its own path: the
                    // path from there on is a cycle.
                    let at = path.iter().position(|&p| p == cur).expect("on path");
                    let mut members = path[at..].to_vec();
                    let lowest = (0..members.len())
                        .min_by_key(|&i| members[i])
                        .expect("non-empty");
                    members.rotate_left(lowest);
                    found.push(Deadlock {
                        cycle: members.iter().map(|&m| snapshot.link(m)).collect(),
                    });
                    break;
                }
                // Ran into a chain already explored: no new cycle here.
                Mark::Done => break,
            }
        }
        for &p in &path {
            mark[p as usize] = Mark::Done;
        }
    }
    found.sort_by_key(|d| d.cycle[0].worker);
    found
}

/// The first cycle of the snapshot (the one with the lowest worker), if any.
pub fn find_cycle(snapshot: &Snapshot) -> Option<Deadlock> {
    find_cycles(snapshot).into_iter().next()
}

/// A deadlock confirmed by two samples (rule 2): a cycle of `later` that is
/// also, identically, a cycle of `earlier`, none of whose workers made
/// progress in between.
pub fn confirm(earlier: &Snapshot, later: &Snapshot) -> Option<Deadlock> {
    let before = find_cycles(earlier);
    find_cycles(later).into_iter().find(|d| {
        before.contains(d)
            && d.cycle.iter().all(|l| {
                let w = l.worker as usize;
                earlier.workers.get(w).map(|s| s.progress)
                    == later.workers.get(w).map(|s| s.progress)
            })
    })
}

/// Feeds samples one at a time and reports a deadlock once two consecutive
/// samples confirm it.
#[derive(Debug, Default)]
pub struct Detector {
    previous: Option<Snapshot>,
}

impl Detector {
    pub fn new() -> Detector {
        Detector::default()
    }

    /// Takes the next sample; `Some` when it and the previous one confirm a deadlock.
    pub fn observe(&mut self, sample: Snapshot) -> Option<Deadlock> {
        let confirmed = self.previous.as_ref().and_then(|p| confirm(p, &sample));
        self.previous = Some(sample);
        confirmed
    }
}

impl Deadlock {
    /// The cycle in words, with the caller's names for the workers:
    /// "T1 holds #1 and waits for #2; T2 holds #2 and waits for #1".
    pub fn sentence_with(&self, name: impl Fn(WorkerId) -> String) -> String {
        self.cycle
            .iter()
            .map(|l| {
                format!(
                    "{} holds {} and waits for #{}",
                    name(l.worker),
                    list(&l.holds),
                    l.waits_for
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// "#1", "#1 and #3", "#1, #2 and #3"; "nothing" for none (a worker waiting
/// on a lock it holds itself is a cycle of one and may hold nothing else).
fn list(locks: &[LockId]) -> String {
    let names: Vec<String> = locks.iter().map(|l| format!("#{l}")).collect();
    match names.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(w: WorkerId) -> String {
        format!("T{}", w + 1)
    }

    fn worker(holds: &[LockId], waits_for: Option<LockId>, progress: u64) -> WorkerState {
        WorkerState {
            holds: holds.to_vec(),
            waits_for,
            progress,
        }
    }

    /// The two-transfer classic: T1 holds #1 and wants #2, T2 the reverse.
    fn classic() -> Snapshot {
        Snapshot {
            workers: vec![worker(&[1], Some(2), 3), worker(&[2], Some(1), 5)],
            holders: [(1, 0), (2, 1)].into(),
        }
    }

    #[test]
    fn ledger_words_become_the_same_snapshot() {
        let words = [(0b01, 2, 3), (0b10, 1, 5)];
        assert_eq!(Snapshot::of_words(&words, &[1, 2]), classic());
        let global = Snapshot::of_words(&[(0, u64::MAX, 1)], &[0, 0]);
        assert_eq!(global.workers[0].waits_for, None);
    }

    #[test]
    fn a_worker_that_holds_what_it_waits_for_is_no_cycle() {
        // T1 has taken #4 (bit 3) and not yet cleared its wait for #4.
        let words = [(0b1100, 4, 7), (0, 0, 2)];
        let s = Snapshot::of_words(&words, &[0, 0, 1, 1]);
        assert_eq!(s.workers[0].waits_for, None);
        assert_eq!(find_cycle(&s), None);
    }

    #[test]
    fn the_classic_cycle_in_words() {
        let d = find_cycle(&classic()).unwrap();
        assert_eq!(
            d.sentence_with(t),
            "T1 holds #1 and waits for #2; T2 holds #2 and waits for #1"
        );
        assert_eq!(
            d.sentence_with(|w| format!("R{}", w + 1)),
            "R1 holds #1 and waits for #2; R2 holds #2 and waits for #1"
        );
    }

    #[test]
    fn the_cycle_starts_at_its_lowest_worker() {
        // T3 -> T2 -> T1 -> T3, listed from T1 whichever worker the walk met first.
        let s = Snapshot {
            workers: vec![
                worker(&[1], Some(3), 0),
                worker(&[2], Some(1), 0),
                worker(&[3], Some(2), 0),
            ],
            holders: [(1, 0), (2, 1), (3, 2)].into(),
        };
        let d = find_cycle(&s).unwrap();
        let order: Vec<_> = d.cycle.iter().map(|l| l.worker).collect();
        assert_eq!(order, [0, 2, 1]);
        assert_eq!(
            d.sentence_with(t),
            "T1 holds #1 and waits for #3; T3 holds #3 and waits for #2; T2 holds #2 and waits for #1"
        );
    }

    #[test]
    fn several_holds_are_listed_in_order() {
        let s = Snapshot {
            workers: vec![worker(&[3, 1, 2], Some(4), 0), worker(&[4], Some(2), 0)],
            holders: [(1, 0), (2, 0), (3, 0), (4, 1)].into(),
        };
        assert_eq!(
            find_cycle(&s).unwrap().sentence_with(t),
            "T1 holds #1, #2 and #3 and waits for #4; T2 holds #4 and waits for #2"
        );
    }

    #[test]
    fn a_slow_holder_is_not_a_deadlock() {
        // T1 holds #1 through a long window; T2 and T3 queue behind it.
        let s = Snapshot {
            workers: vec![
                worker(&[1], None, 1),
                worker(&[2], Some(1), 1),
                worker(&[], Some(2), 1),
            ],
            holders: [(1, 0), (2, 1)].into(),
        };
        assert_eq!(find_cycles(&s), []);
        assert_eq!(confirm(&s, &s), None);
    }

    #[test]
    fn waiters_hanging_off_a_cycle_are_not_in_it() {
        let mut s = classic();
        s.workers.push(worker(&[], Some(1), 0)); // T3 waits for #1 too
        let d = find_cycle(&s).unwrap();
        assert_eq!(d.cycle.len(), 2);
        assert!(d.cycle.iter().all(|l| l.worker != 2));
    }

    #[test]
    fn a_torn_edge_does_not_count() {
        // #2's holder word still names T2, but T2 says it no longer holds it:
        // T2 is between clearing its own record and the holder word.
        let mut s = classic();
        s.workers[1].holds.clear();
        assert_eq!(find_cycle(&s), None);
        // And a holder word already cleared breaks the cycle too.
        let mut s = classic();
        s.holders.remove(&2);
        assert_eq!(find_cycle(&s), None);
    }

    #[test]
    fn waiting_on_a_lock_held_by_oneself_is_a_cycle_of_one() {
        let s = Snapshot {
            workers: vec![worker(&[1], Some(1), 0)],
            holders: [(1, 0)].into(),
        };
        assert_eq!(
            find_cycle(&s).unwrap().sentence_with(t),
            "T1 holds #1 and waits for #1"
        );
    }

    #[test]
    fn two_disjoint_cycles_are_both_found() {
        let s = Snapshot {
            workers: vec![
                worker(&[3], Some(4), 0),
                worker(&[1], Some(2), 0),
                worker(&[2], Some(1), 0),
                worker(&[4], Some(3), 0),
            ],
            holders: [(1, 1), (2, 2), (3, 0), (4, 3)].into(),
        };
        let found = find_cycles(&s);
        let firsts: Vec<_> = found.iter().map(|d| d.cycle[0].worker).collect();
        assert_eq!(firsts, [0, 1]);
    }

    #[test]
    fn confirmation_needs_two_samples_without_progress() {
        let mut d = Detector::new();
        assert_eq!(d.observe(classic()), None, "one sample is not enough");
        assert!(d.observe(classic()).is_some());

        // A cycle member moved between the samples: not confirmed.
        let mut moved = classic();
        moved.workers[1].progress += 1;
        assert_eq!(confirm(&classic(), &moved), None);
        // A worker outside the cycle may progress freely.
        let (mut a, mut b) = (classic(), classic());
        a.workers.push(worker(&[], None, 1));
        b.workers.push(worker(&[], None, 9));
        assert!(confirm(&a, &b).is_some());
        // A different cycle in each sample is not a confirmation.
        let mut other = classic();
        other.workers[0].holds.push(3);
        other.holders.insert(3, 0);
        assert_eq!(confirm(&classic(), &other), None);
        // Nor is a cycle in the first sample only.
        assert_eq!(confirm(&classic(), &Snapshot::default()), None);
    }

    /// Builds a random snapshot without cycles: workers get random ranks, and
    /// a worker only ever waits for a lock held by a worker of higher rank (or
    /// a free lock), so every chain climbs the ranks and ends.
    fn acyclic(n: usize, locks: u32, raw: &[u32]) -> Snapshot {
        let mut r = raw.iter().copied().cycle();
        let mut next = move || r.next().unwrap_or(0);
        let mut rank: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            rank.swap(i, next() as usize % (i + 1));
        }
        let mut s = Snapshot {
            workers: vec![WorkerState::default(); n],
            holders: BTreeMap::new(),
        };
        for lock in 1..=locks {
            if next() % 3 != 0 {
                let h = next() % n as u32;
                s.holders.insert(lock, h);
                s.workers[h as usize].holds.push(lock);
            }
        }
        for w in 0..n {
            s.workers[w].progress = u64::from(next());
            if next() % 4 == 0 {
                continue; // not waiting
            }
            let lock = 1 + next() % locks;
            match s.holders.get(&lock) {
                Some(&h) if rank[h as usize] > rank[w] => s.workers[w].waits_for = Some(lock),
                None => s.workers[w].waits_for = Some(lock),
                _ => {}
            }
        }
        s
    }

    proptest! {
        #[test]
        fn an_acyclic_graph_never_reports_a_cycle(
            n in 1usize..16,
            locks in 1u32..24,
            raw in proptest::collection::vec(any::<u32>(), 1..200),
        ) {
            let s = acyclic(n, locks, &raw);
            prop_assert_eq!(find_cycles(&s), vec![]);
            prop_assert_eq!(confirm(&s, &s), None);
        }

        #[test]
        fn a_planted_cycle_is_always_found(
            n in 1usize..16,
            locks in 1u32..24,
            raw in proptest::collection::vec(any::<u32>(), 1..200),
            k in 1usize..8,
            pick in any::<u64>(),
        ) {
            let mut s = acyclic(n, locks, &raw);
            // Plant: k fresh workers T(n+1).. and k fresh locks, worker i
            // holding lock i and waiting for lock i+1 (mod k). Some old
            // workers are made to wait on the cycle's locks.
            let first_lock = locks + 1;
            for i in 0..k {
                let w = (n + i) as u32;
                let lock = first_lock + i as u32;
                s.workers.push(WorkerState {
                    holds: vec![lock],
                    waits_for: Some(first_lock + ((i + 1) % k) as u32),
                    progress: 7,
                });
                s.holders.insert(lock, w);
            }
            for w in 0..n {
                if (pick >> (w % 64)) & 1 == 1 {
                    s.workers[w].waits_for = Some(first_lock + (w % k) as u32);
                }
            }
            let found = find_cycles(&s);
            prop_assert_eq!(found.len(), 1);
            let members: Vec<u32> = found[0].cycle.iter().map(|l| l.worker).collect();
            let expected: Vec<u32> = (n as u32..(n + k) as u32).collect();
            prop_assert_eq!(members, expected);
            prop_assert!(confirm(&s, &s.clone()).is_some());
        }
    }
}
