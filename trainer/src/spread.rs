//! New threads start on a core of their own, not behind the thread that spawned them.
//!
//! Linux often queues a new thread on the core of the thread that spawns it. On the two-core
//! virtual machines this project is measured on, the idle core did not take the new thread over
//! until the spawner's time slice ended or it blocked: a worker spawned by a busy thread started
//! 1-4 ms late (median 2.3 ms over 30 spawns), and two 5 ms jobs, one on the spawner and one on
//! the new thread, took 8.5-9 ms instead of 5. In `ae compress` (about 25 ms on two threads)
//! that is the coder's first chunks waiting while the reader runs alone.
//!
//! So a spawner notes its core ([`Spawner::here`]), spawns, and yields once ([`Spawner::yield_to_new`]):
//! a new thread queued behind it runs at once, and its first act ([`Spawner::leave`]) is to move
//! to another allowed core when it finds itself on the spawner's, keeping its allowed set as it
//! was. A new thread the kernel already put on another core stays there. Two 5 ms jobs then took
//! 5.2-5.3 ms. Moving the spawner instead was as fast when the new thread was queued behind it,
//! but the kernel places about half of them on the idle core at once, and then the spawner
//! moved onto the new thread's core.
//!
//! Only on Linux, and only where it can: a process allowed one core, or a failed call, leaves
//! everything as it was. Elsewhere it does nothing.

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
}

#[cfg(target_os = "linux")]
mod linux {
    use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;

    pub(super) fn leave(core: usize) {
        if sched_getcpu() != Ok(core) {
            return;
        }
        let me = Pid::from_raw(0);
        let Ok(allowed) = sched_getaffinity(me) else {
            return;
        };
        let Some(elsewhere) = without(&allowed, core) else {
            return;
        };
        if sched_setaffinity(me, &elsewhere).is_ok() {
            // Every core back: the thread stays where it now runs until the scheduler moves it.
            let _ = sched_setaffinity(me, &allowed);
        }
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
        fn a_new_thread_leaves_its_spawners_core_and_keeps_its_allowed_set() {
            let me = Pid::from_raw(0);
            let allowed = sched_getaffinity(me).expect("affinity of this thread");
            let cores = (0..CpuSet::count())
                .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
                .count();
            let spawner = super::super::Spawner::here();
            let (core, after) = std::thread::spawn(move || {
                spawner.leave();
                (sched_getcpu().ok(), sched_getaffinity(me).ok())
            })
            .join()
            .expect("the new thread");
            assert_eq!(after, Some(allowed));
            if cores > 1 && spawner.core.is_some() {
                // Right after the move nothing has had time to bring it back.
                assert_ne!(core, spawner.core);
            }
        }
    }
}
