//! Cancellation of work whose caller has gone: a client that disconnected, a request past
//! its timeout. Long loops (token generation, embedding batches) poll [`Cancel`] between
//! steps and stop early; the HTTP layer holds a [`CancelOnDrop`] in the request's future,
//! which the server drops when the connection closes or the timeout fires.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that says "stop": cheap to clone, never set by default.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A flag nobody can set (work that is never cancelled: the CLI, tests).
    pub fn never() -> Self {
        Cancel(None)
    }

    /// A new flag and the guard that sets it when dropped.
    pub fn on_drop() -> (Cancel, CancelOnDrop) {
        let flag = Arc::new(AtomicBool::new(false));
        (Cancel(Some(flag.clone())), CancelOnDrop(flag))
    }

    /// Whether the work should stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Sets the flag (e.g. when a streamed event could not be delivered).
    pub fn cancel(&self) {
        if let Some(f) = &self.0 {
            f.store(true, Ordering::Relaxed);
        }
    }
}

/// Sets its [`Cancel`] flag when dropped, unless [`CancelOnDrop::disarm`]ed.
#[derive(Debug)]
pub struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    /// The work finished: dropping the guard no longer cancels anything.
    pub fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_guard_cancels_and_disarming_does_not() {
        let (c, guard) = Cancel::on_drop();
        assert!(!c.is_cancelled());
        drop(guard);
        assert!(c.is_cancelled());
        let (c, guard) = Cancel::on_drop();
        guard.disarm();
        assert!(!c.is_cancelled());
        assert!(!Cancel::never().is_cancelled());
    }
}
