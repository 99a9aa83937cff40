//! Read on one thread, work on all of them, keep the input order.
//!
//! `ae compress` reads its inputs one after the other (a gzip stream unzips on one core only)
//! and codes them in chunks. [`read_and_process`] lets the calling thread read while `threads - 1`
//! workers take the chunks it has read. When the reader is more than `read_ahead` chunks ahead it
//! processes the oldest one itself, so memory stays bounded and no core waits for another; once
//! everything is read it joins the workers. With one thread this is the plain loop: read a
//! chunk, process it, read the next.
//!
//! A worker with nothing to do spins for [`SPIN`] before it sleeps. Measured on the two-core
//! virtual machines this project is benchmarked on, a thread woken on an idle core started up to
//! 2.5 ms late about half the time, which is a tenth of compressing 10,000 images; a reader that
//! hands over a chunk every half millisecond never lets a spinning worker sleep. For the same
//! reason each worker starts by leaving the reader's core ([`crate::spread`]): otherwise a new
//! worker can wait behind the reader, on its core, for a few milliseconds.
//!
//! The first failure in input order wins, as in the plain loop: after an item fails nothing more
//! is read or taken, the items already taken (all of them earlier or later than the failing one,
//! never skipped) finish, and the caller gets every output before the first failure.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::spread::Spawner;

/// How long a worker without work spins before it sleeps.
pub const SPIN: Duration = Duration::from_millis(2);

/// Outputs in input order, up to the first failure, and that failure.
#[derive(Debug)]
pub struct Processed<O, E> {
    /// The outputs of the items before the first failure (all of them when there is none).
    pub outputs: Vec<O>,
    /// The first failure in input order: an item's, or the reader's after every item it read.
    pub failure: Option<E>,
}

/// Buffers handed back by the threads done with them, for the reader to fill again: memory a
/// thread has used once is not faulted in again (in `ae compress`, fresh buffers for every
/// chunk cost a third more page faults and 20% more CPU time on two threads).
#[derive(Debug, Default)]
pub struct Spares<T> {
    free: Mutex<Vec<T>>,
}

impl<T: Default> Spares<T> {
    /// Most buffers kept: about what can be in flight.
    const LIMIT: usize = 64;

    /// A buffer handed back earlier, or a new one.
    pub fn take(&self) -> T {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Hands `buffer` back for [`Self::take`] (or drops it when enough are kept).
    pub fn give(&self, buffer: T) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < Self::LIMIT {
            free.push(buffer);
        }
    }
}

/// Items read and not yet taken, and whether the reader has finished.
struct Queue<T> {
    items: VecDeque<(usize, T)>,
    done: bool,
}

/// What the reader and the workers share.
struct Shared<T> {
    queue: Mutex<Queue<T>>,
    ready: Condvar,
    /// Set by the first failure: nothing more is read or taken.
    stop: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // Nothing runs user code while holding the lock, so a poisoned lock holds a sound queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest item not yet taken, waiting for one while the reader goes on; `None` once the
    /// reader has finished and every item is taken.
    fn next(&self) -> Option<(usize, T)> {
        let mut idle_since: Option<Instant> = None;
        let mut queue = self.lock();
        loop {
            if let Some(item) = queue.items.pop_front() {
                return Some(item);
            }
            if queue.done {
                return None;
            }
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() < SPIN {
                drop(queue);
                std::hint::spin_loop();
                std::thread::yield_now();
                queue = self.lock();
            } else {
                queue = self
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    /// Stops reading and taking: everything still queued was read after the failing item.
    fn fail(&self) {
        self.stop.store(true, Ordering::Release);
        self.lock().items.clear();
    }
}

/// Runs `read` on the calling thread, which hands each item it reads to `feed` (`feed` returns
/// `false` when reading should stop), and `process` on every item, on `threads` threads in all
/// (the caller's included). Outputs come back in the order the items were fed.
pub fn read_and_process<T, O, E>(
    threads: usize,
    read_ahead: usize,
    read: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), E>,
    process: impl Fn(T) -> Result<O, E> + Sync,
) -> Processed<O, E>
where
    T: Send,
    O: Send,
    E: Send,
{
    let workers = threads.max(1) - 1;
    // With no worker, the reader processes each item as soon as it has read it.
    let read_ahead = if workers == 0 { 0 } else { read_ahead };
    let shared = Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            done: false,
        }),
        ready: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let run = |(index, item): (usize, T), results: &mut Vec<(usize, Result<O, E>)>| {
        let result = process(item);
        if result.is_err() {
            shared.fail();
        }
        results.push((index, result));
    };
    let (mut results, read_result) = std::thread::scope(|scope| {
        let (shared, run) = (&shared, &run);
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                // Where the reader is now: it may have moved since the last spawn.
                let spawner = Spawner::here();
                let handle = scope.spawn(move || {
                    spawner.leave();
                    let mut results = Vec::new();
                    while let Some(item) = shared.next() {
                        run(item, &mut results);
                    }
                    results
                });
                spawner.yield_to_new();
                handle
            })
            .collect();
        let mut results = Vec::new();
        let mut fed = 0usize;
        let read_result = read(&mut |item| {
            if shared.stop.load(Ordering::Acquire) {
                return false;
            }
            let overflow = {
                let mut queue = shared.lock();
                queue.items.push_back((fed, item));
                shared.ready.notify_one();
                if queue.items.len() > read_ahead {
                    queue.items.pop_front()
                } else {
                    None
                }
            };
            fed += 1;
            if let Some(item) = overflow {
                run(item, &mut results);
            }
            !shared.stop.load(Ordering::Acquire)
        });
        shared.lock().done = true;
        shared.ready.notify_all();
        while let Some(item) = shared.next() {
            run(item, &mut results);
        }
        for handle in handles {
            match handle.join() {
                Ok(theirs) => results.extend(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (results, read_result)
    });
    results.sort_unstable_by_key(|(index, _)| *index);
    // Every item taken is processed, and items are taken in order: up to the first failure the
    // indices have no gap, and without a failure every item fed is here.
    let mut outputs = Vec::with_capacity(results.len());
    for (index, result) in results {
        debug_assert_eq!(index, outputs.len());
        match result {
            Ok(output) => outputs.push(output),
            Err(e) => {
                return Processed {
                    outputs,
                    failure: Some(e),
                }
            }
        }
    }
    Processed {
        outputs,
        failure: read_result.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `0..n`, failing the read after `read_fails_at` items if given.
    fn reader(
        n: usize,
        read_fails_at: Option<usize>,
    ) -> impl FnOnce(&mut dyn FnMut(usize) -> bool) -> Result<(), String> {
        move |feed| {
            for k in 0..n {
                if Some(k) == read_fails_at {
                    return Err(format!("read {k}"));
                }
                if !feed(k) {
                    return Ok(());
                }
            }
            Ok(())
        }
    }

    #[test]
    fn outputs_come_back_in_input_order_for_every_thread_count() {
        for threads in [1, 2, 3, 5] {
            for read_ahead in [0, 1, 4] {
                let done = read_and_process(threads, read_ahead, reader(200, None), |k| {
                    // Uneven work, long enough that every thread takes items and they finish
                    // out of order.
                    std::thread::sleep(Duration::from_micros(30 * (k as u64 * 7919 % 7)));
                    Ok::<_, String>(k)
                });
                assert!(done.failure.is_none());
                assert_eq!(
                    done.outputs,
                    (0..200).collect::<Vec<_>>(),
                    "{threads} threads"
                );
            }
        }
    }

    #[test]
    fn the_first_failure_in_input_order_wins_with_everything_before_it() {
        for threads in [1, 2, 3] {
            let done = read_and_process(threads, 4, reader(300, None), |k| {
                if k == 117 || k == 180 {
                    Err(format!("item {k}"))
                } else {
                    Ok(k)
                }
            });
            assert_eq!(
                done.failure.as_deref(),
                Some("item 117"),
                "{threads} threads"
            );
            assert_eq!(done.outputs, (0..117).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_read_error_comes_after_every_item_read_before_it() {
        for threads in [1, 2, 3] {
            let done = read_and_process(threads, 4, reader(100, Some(60)), Ok::<_, String>);
            assert_eq!(done.failure.as_deref(), Some("read 60"));
            assert_eq!(done.outputs, (0..60).collect::<Vec<_>>());
            // An item that fails before the read error is reported instead.
            let done = read_and_process(threads, 4, reader(100, Some(60)), |k| {
                if k == 30 {
                    Err("item 30".to_string())
                } else {
                    Ok(k)
                }
            });
            assert_eq!(done.failure.as_deref(), Some("item 30"));
            assert_eq!(done.outputs.len(), 30);
        }
    }

    #[test]
    fn a_failure_stops_the_reading() {
        let fed = std::sync::atomic::AtomicUsize::new(0);
        let done = read_and_process(
            2,
            2,
            |feed: &mut dyn FnMut(usize) -> bool| {
                for k in 0..1_000_000 {
                    fed.fetch_add(1, Ordering::Relaxed);
                    if !feed(k) {
                        break;
                    }
                }
                Ok::<_, String>(())
            },
            |k| {
                if k == 5 {
                    Err("five".to_string())
                } else {
                    Ok(k)
                }
            },
        );
        assert_eq!(done.failure.as_deref(), Some("five"));
        assert!(
            fed.load(Ordering::Relaxed) < 1000,
            "reading went on after the failure"
        );
    }
}
