//! New threads start on a core of their own, not behind the thread that spawned them.
//!
//! Linux queues a new thread on the core of the thread that spawns it. On the two-core virtual
//! machines this project is measured on, the idle core did not take the new thread over until
//! the spawner's time slice ended or blocked: a worker spawned by a busy thread started 1-4 ms
//! late (median 2.3 ms over 30 spawns), and two 5 ms jobs, one on the spawner and one on the new
//! thread, took 8.5-9 ms instead of 5. In `ae compress` (about 25 ms on two threads) that is the
//! coder's first chunks sitting idle while the reader runs alone.
//!
//! [`step_aside`], called by the spawner right after a spawn, moves the spawner to the next core
//! it may run on and at once gives back the set of cores it had: the new thread keeps the old
//! core to itself, the spawner goes on where it now is, and no thread stays pinned. The kernel
//! migrates a running thread at once; the step took about 90 µs, and the two 5 ms jobs then took
//! 5.0 ms. Spawning several threads with a step after each spreads them over as many cores.
//!
//! Only on Linux, and only where it can: a process allowed one core, or a failed call, leaves
//! everything as it was. Elsewhere it does nothing.

/// Moves the calling thread to the next core it is allowed on, keeping its allowed set; call it
/// right after spawning a thread, so that the new thread does not wait behind this one.
pub fn step_aside() {
    #[cfg(target_os = "linux")]
    linux::step_aside();
}

#[cfg(target_os = "linux")]
mod linux {
    use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;

    pub(super) fn step_aside() {
        let me = Pid::from_raw(0);
        let (Ok(allowed), Ok(current)) = (sched_getaffinity(me), sched_getcpu()) else {
            return;
        };
        let Some(next) = next_allowed(|cpu| allowed.is_set(cpu).unwrap_or(false), current) else {
            return;
        };
        let mut only_next = CpuSet::new();
        if only_next.set(next).is_ok() && sched_setaffinity(me, &only_next).is_ok() {
            // Every core back: the thread stays where it now runs until the scheduler moves it.
            let _ = sched_setaffinity(me, &allowed);
        }
    }

    /// The first allowed core after `current`, counting round; `None` when `current` is the
    /// only one.
    pub(super) fn next_allowed(allowed: impl Fn(usize) -> bool, current: usize) -> Option<usize> {
        let cores = CpuSet::count();
        (1..cores)
            .map(|k| (current + k) % cores)
            .find(|&cpu| allowed(cpu))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_next_core_is_the_next_allowed_one_counting_round() {
            let allowed = |cpu: usize| [0, 2, 5].contains(&cpu);
            assert_eq!(next_allowed(allowed, 0), Some(2));
            assert_eq!(next_allowed(allowed, 2), Some(5));
            assert_eq!(next_allowed(allowed, 5), Some(0));
            // A core outside the set (the thread ran there before a change of its set).
            assert_eq!(next_allowed(allowed, 3), Some(5));
            assert_eq!(next_allowed(|cpu| cpu == 3, 3), None);
            assert_eq!(next_allowed(|_| false, 0), None);
        }

        #[test]
        fn stepping_aside_leaves_the_allowed_cores_as_they_were() {
            let me = Pid::from_raw(0);
            let before = sched_getaffinity(me).expect("affinity of this thread");
            step_aside();
            let after = sched_getaffinity(me).expect("affinity of this thread");
            assert_eq!(before, after);
        }
    }
}
