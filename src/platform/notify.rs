//! Who a desktop notification says it comes from, where the system must be told.
//!
//! - Windows shows a toast under an app id (AUMID). A program that is not packaged must
//!   register its id for the user first, under [`registration_key`] with the name to
//!   show, as Microsoft's notification toolkit does for desktop apps; an id that is not
//!   registered makes Windows drop the toast silently. [`app_id`] registers lanchat's
//!   once ([`WINDOWS_APP_ID`], shown as "lanchat") and returns it; if the registry
//!   refuses, `None`, and the toast goes out under notify-rust's default id (Windows
//!   PowerShell's), still shown.
//! - macOS shows a notification under a bundle id: [`app_id`] picks lanchat's when it runs
//!   from an installed `lanchat.app`, else the system's fallback (Finder's).
//! - Linux: the freedesktop server takes the name with each notification; nothing to do.
//!
//! Only the window (feature `gui`) notifies, and on Linux through `desktop::notes`; the
//! notifier that calls this is `ui::notify`, built on Windows and macOS.

/// lanchat's app id for Windows toasts ("company.product", as Microsoft recommends).
pub const WINDOWS_APP_ID: &str = "lanchat.lanchat";

/// The name Windows shows on lanchat's toasts.
pub const DISPLAY_NAME: &str = "lanchat";

/// Where an app id is registered for the current user (under `HKEY_CURRENT_USER`).
pub fn registration_key(app_id: &str) -> String {
    format!(r"Software\Classes\AppUserModelId\{app_id}")
}

/// Registers lanchat's toast id for the user and returns it (Windows); `None` where it
/// cannot be, and the default is used.
#[cfg(all(windows, feature = "gui"))]
pub fn app_id() -> Option<String> {
    let key = registration_key(WINDOWS_APP_ID);
    let registered = windows_registry::CURRENT_USER
        .create(&key)
        .and_then(|k| k.set_string("DisplayName", DISPLAY_NAME));
    match registered {
        Ok(()) => Some(WINDOWS_APP_ID.to_owned()),
        Err(e) => {
            tracing::warn!(r"cannot register the notification id at HKCU\{key}: {e}");
            None
        }
    }
}

/// Tells the notification centre which bundle lanchat's notifications come from (macOS):
/// lanchat's own when it runs from an installed `lanchat.app`, else the system's default.
#[cfg(all(target_os = "macos", feature = "gui"))]
pub fn app_id() -> Option<String> {
    let bundle = notify_rust::get_bundle_identifier_or_default("lanchat");
    if let Err(e) = notify_rust::set_application(&bundle) {
        tracing::debug!("notifications under {bundle}: {e:?}");
    }
    Some(bundle)
}

/// Nothing to register (Linux and the rest): the name goes with each notification.
#[cfg(not(any(
    all(windows, feature = "gui"),
    all(target_os = "macos", feature = "gui")
)))]
pub fn app_id() -> Option<String> {
    None
}

/// Puts the registered `app_id` on a toast (Windows, where it goes with each one).
#[cfg(all(windows, feature = "gui"))]
pub fn with_app_id(n: &mut notify_rust::Notification, app_id: Option<&str>) {
    if let Some(id) = app_id {
        n.app_id(id);
    }
}

/// Nothing to put on each notification (macOS: the bundle is set once, by [`app_id`]).
#[cfg(all(not(windows), not(target_os = "linux"), feature = "gui"))]
pub fn with_app_id(_: &mut notify_rust::Notification, _: Option<&str>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_id_is_registered_under_the_users_classes() {
        assert_eq!(
            registration_key(WINDOWS_APP_ID),
            r"Software\Classes\AppUserModelId\lanchat.lanchat"
        );
        // What the key may hold: no separator inside the id, at most 129 characters.
        assert!(!WINDOWS_APP_ID.contains(['\\', ' ']) && WINDOWS_APP_ID.len() <= 129);
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    #[test]
    fn elsewhere_nothing_is_registered() {
        assert_eq!(app_id(), None);
    }
}
