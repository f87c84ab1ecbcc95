//! Locks that stay usable after a panic elsewhere: tracewire's state (the queue, counters, the
//! tail buffer) is consistent between statements, so a thread that panicked while holding a lock
//! (a user's hook, a panicking layer) must not take tracing down with it. One place for the
//! recovery instead of a copy at every lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// [`Mutex::lock`], recovering the guard of a poisoned lock.
pub(crate) trait LockExt<T: ?Sized> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
