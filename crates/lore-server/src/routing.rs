//! Route registration with the caller each route admits, declared on the same line as
//! the route: [`Routes::add`] takes the method, the path, an [`Allow`] and the handler, so
//! a route cannot be registered without saying who may call it. The authentication
//! middleware reads the table ([`RouteTable`]) for the matched route; a path no route
//! matches is a 404 that needs no key and reveals nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter};
use axum::Router;
use lore_core::Role;

use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Anyone, without a key (health, the web UI, the API description).
    Public,
    /// Anyone when `[auth] public_metrics` is on, else admins (`/metrics`).
    Metrics,
    /// Keys of this role or a higher one (reader < writer < admin).
    Role(Role),
}

impl Allow {
    /// Readers and up.
    pub const READER: Allow = Allow::Role(Role::Reader);
    /// Writers and admins.
    pub const WRITER: Allow = Allow::Role(Role::Writer);
    /// Admins.
    pub const ADMIN: Allow = Allow::Role(Role::Admin);

    /// The role needed; `None` when the route is public.
    pub fn role(self, public_metrics: bool) -> Option<Role> {
        match self {
            Allow::Public => None,
            Allow::Metrics if public_metrics => None,
            Allow::Metrics => Some(Role::Admin),
            Allow::Role(r) => Some(r),
        }
    }
}

/// One registered route.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Method (`GET` also answers `HEAD`).
    pub method: Method,
    /// Path template as registered (`/v1/collections/{name}`).
    pub path: &'static str,
    /// Who may call it.
    pub allow: Allow,
}

/// Every route with who may call it, looked up by method and matched path template.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: HashMap<&'static str, Vec<(Method, Allow)>>,
    declared: Vec<Declared>,
}

impl RouteTable {
    /// Who may call `method` on the route template `path`; `None` when no route has that
    /// method (axum answers 405 or 404).
    pub fn allow(&self, method: &Method, path: &str) -> Option<Allow> {
        let method = if method == Method::HEAD {
            Method::GET
        } else {
            method.clone()
        };
        self.routes
            .get(path)?
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, a)| *a)
    }

    /// Every route, in registration order.
    pub fn declared(&self) -> &[Declared] {
        &self.declared
    }
}

/// A router being built, with its table.
pub struct Routes {
    router: Router<AppState>,
    table: RouteTable,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            table: RouteTable::default(),
        }
    }
}

impl Routes {
    /// Registers `handler` for `method` on `path`, callable by `allow`.
    ///
    /// # Panics
    /// When the same method and path are registered twice (a programming error, caught
    /// by every test that builds the router).
    pub fn add<H, T>(mut self, method: Method, path: &'static str, allow: Allow, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("unsupported method {method} for {path}"));
        let methods = self.table.routes.entry(path).or_default();
        assert!(
            methods.iter().all(|(m, _)| *m != method),
            "{method} {path} registered twice"
        );
        methods.push((method.clone(), allow));
        self.table.declared.push(Declared {
            method,
            path,
            allow,
        });
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    /// The router and its table.
    pub fn build(self) -> (Router<AppState>, Arc<RouteTable>) {
        (self.router, Arc::new(self.table))
    }
}
