//! The module layering ARCHITECTURE.md describes, checked: a module named here must not reach
//! up to the ones that call it. A failure names the file and what it must not import.

const FILES: &[(&str, &str)] = &[
    ("app.rs", include_str!("app.rs")),
    ("principal.rs", include_str!("principal.rs")),
    ("render.rs", include_str!("render.rs")),
    ("hub/mod.rs", include_str!("hub/mod.rs")),
    ("hub/bus.rs", include_str!("hub/bus.rs")),
    ("hub/order.rs", include_str!("hub/order.rs")),
    ("hub/frame.rs", include_str!("hub/frame.rs")),
    ("http/ws/connection.rs", include_str!("http/ws/connection.rs")),
];

fn source(name: &str) -> &'static str {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_default()
}

/// The code of a file without its comments, so that prose may name any module.
fn code(name: &str) -> String {
    source(name).lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn assert_not_importing(file: &str, forbidden: &[&str]) {
    let code = code(file);
    assert!(!code.is_empty(), "{file} is not in FILES");
    for name in forbidden {
        assert!(!code.contains(name), "{file} must not use `{name}`");
    }
}

#[test]
fn app_is_below_http_and_startup() {
    assert_not_importing("app.rs", &["crate::http", "crate::startup", "TcpListener"]);
}

#[test]
fn the_hub_knows_neither_auth_nor_the_http_framework() {
    for file in ["hub/mod.rs", "hub/bus.rs", "hub/order.rs", "hub/frame.rs"] {
        assert_not_importing(file, &["axum", "crate::auth", "crate::http"]);
    }
}

#[test]
fn principal_is_below_auth_and_hub() {
    assert_not_importing("principal.rs", &["crate::"]);
}

#[test]
fn rendering_calls_no_domain_service() {
    assert_not_importing(
        "render.rs",
        &["crate::conversations", "crate::messages", "crate::invitations", "crate::sync"],
    );
}

#[test]
fn the_gateway_gets_wire_users_not_store_rows() {
    assert_not_importing("http/ws/connection.rs", &["UserRow", "crate::store", "to_wire"]);
}
