//! New worker threads leave the core of the thread that spawned them.
//!
//! Linux often queues a new thread on the core of the thread that spawns it. On the two-core
//! virtual machines this project is measured on, the idle core did not take the new thread over
//! until the spawner's time slice ended or it blocked: a worker spawned by a busy thread started
//! 1-4 ms late (median 2.3 ms over 30 spawns), and two 5 ms jobs, one on the spawner and one on
//! the new thread, took 8.5-9 ms instead of 5. In `ae compress` (about 25 ms on two threads)
//! that is the coder's first chunks waiting while the reader runs alone.
//!
//! So a spawner notes its core ([`Spawner::here`]), spawns, and yields once
//! ([`Spawner::yield_to_new`]): a new thread queued behind it runs at once, and its first act
//! ([`Spawner::leave`]) is to move to another allowed core when it finds itself on the
//! spawner's, then to set its allowed cores back to the ones it had. A new thread the kernel already put on another core stays there. Two 5 ms jobs then took
//! 5.2-5.3 ms. Moving the spawner instead was as fast when the new thread was queued behind it,
//! but the kernel places about half of them on the idle core at once, and then the spawner
//! moved onto the new thread's core.
//!
//! Only on Linux, and only where it can: a process allowed one core, or a failed first call,
//! leaves everything as it was. The set given back is the one the thread had, now set
//! explicitly; should even a second try to give it back fail (the allowed cores changed in
//! between), the worker keeps away from the spawner's core for the rest of its short life.
//! Elsewhere it does nothing.

/// The core of a thread about to spawn workers, which they leave.
#[derive(Debug, Clone, Copy)]
pub struct Spawner {
    core: Option<usize>,
}

impl Spawner {
    /// The calling thread's core, now.
    pub fn here() -> Self {
        #[cfg(target_os = "linux")]
        let core = nix::sched::sched_getcpu().ok();
        #[cfg(not(target_os = "linux"))]
        let core = None;
        Self { core }
    }

    /// Called by the spawner right after a spawn: a new thread queued on this core runs now,
    /// and leaves it.
    pub fn yield_to_new(&self) {
        if self.core.is_some() {
            std::thread::yield_now();
        }
    }

    /// Called first thing by a new thread: when it runs on the spawner's core, it moves to
    /// another one it is allowed on; its set of allowed cores is left as it was.
    pub fn leave(&self) {
        #[cfg(target_os = "linux")]
        if let Some(core) = self.core {
            linux::leave(core);
        }
    }

    /// The core this spawner ran on, if known.
    pub fn core(&self) -> Option<usize> {
        self.core
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;

    /// Moves the calling thread off `core` if it runs there; returns the core it ran on while
    /// barred from `core` (`None` when it did not move).
    pub(super) fn leave(core: usize) -> Option<usize> {
        if sched_getcpu() != Ok(core) {
            return None;
        }
        let me = Pid::from_raw(0);
        let allowed = sched_getaffinity(me).ok()?;
        let elsewhere = without(&allowed, core)?;
        sched_setaffinity(me, &elsewhere).ok()?;
        let moved_to = sched_getcpu().ok();
        // Every core back: the thread stays where it now runs until the scheduler moves it.
        if sched_setaffinity(me, &allowed).is_err() {
            let _ = sched_setaffinity(me, &allowed);
        }
        moved_to
    }

    /// `allowed` but `core`; `None` when nothing would be left.
    pub(super) fn without(allowed: &CpuSet, core: usize) -> Option<CpuSet> {
        let mut rest = *allowed;
        rest.unset(core).ok()?;
        (0..CpuSet::count())
            .any(|cpu| rest.is_set(cpu).unwrap_or(false))
            .then_some(rest)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn set(cores: &[usize]) -> CpuSet {
            let mut set = CpuSet::new();
            for &core in cores {
                set.set(core).unwrap();
            }
            set
        }

        #[test]
        fn leaving_a_core_keeps_the_others_and_never_leaves_none() {
            assert_eq!(without(&set(&[0, 2, 5]), 2), Some(set(&[0, 5])));
            // A core outside the set (the set changed since the spawner ran there).
            assert_eq!(without(&set(&[0, 5]), 3), Some(set(&[0, 5])));
            assert_eq!(without(&set(&[3]), 3), None);
        }

        #[test]
        fn a_thread_on_the_spawners_core_leaves_it_and_keeps_its_allowed_set() {
            let me = Pid::from_raw(0);
            let allowed = sched_getaffinity(me).expect("affinity of this thread");
            let Ok(here) = sched_getcpu() else {
                return;
            };
            // Run on the spawner's core for certain: pinned there, then given every core back.
            let mut only_here = CpuSet::new();
            only_here.set(here).expect("a core number within the set");
            let spawner = crate::spread::Spawner::here();
            let (on_core, moved_to, after) = std::thread::spawn(move || {
                let pinned = sched_setaffinity(me, &only_here).is_ok()
                    && sched_setaffinity(me, &allowed).is_ok()
                    && spawner.core() == Some(here);
                let on_core = pinned && sched_getcpu() == Ok(here);
                let moved_to = if on_core { leave(here) } else { None };
                (on_core, moved_to, sched_getaffinity(me).ok())
            })
            .join()
            .expect("the new thread");
            assert_eq!(after, Some(allowed));
            if let Some(core) = moved_to {
                assert_ne!(
                    core, here,
                    "still on the spawner's core while barred from it"
                );
            }
            // On the spawner's core with somewhere else to go, it must have moved.
            if on_core && without(&allowed, here).is_some() {
                assert!(moved_to.is_some(), "did not move off the spawner's core");
            }
        }
    }
}
