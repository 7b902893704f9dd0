//! The server's view of the settings (sections defined in `lore-settings`).

pub use lore_settings::server::*;

/// Security and observability settings as the middleware reads them: the whole
/// [`lore_settings::Settings`] (`[auth]`, `[rate_limit]`, `[cors]`, `[log]`,
/// `[analytics]`, `[metrics]`, `[prices]`, `[connections]` among its sections).
pub type SecurityConfig = lore_settings::Settings;
