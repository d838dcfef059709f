//! Conversation themes: the presets the server offers, and the rule every theme must pass —
//! WCAG 2 AA contrast for text (4.5:1) and 3:1 for the accent that marks controls (WCAG 1.4.11),
//! in both its light and dark variant.

use confab_proto::ErrorCode;
use confab_proto::rest::{Palette, SetThemeRequest, Theme, ThemePreset};

use crate::error::{Error, Result};

/// Contrast text needs against what it is written on.
pub const TEXT_CONTRAST: f64 = 4.5;
/// Contrast the accent needs against the background.
pub const ACCENT_CONTRAST: f64 = 3.0;

type Colours = [&'static str; 7];

/// id, name, light, dark — each palette in the order of [`palette`].
const PRESETS: &[(&str, &str, Colours, Colours)] = &[
    (
        "ocean",
        "Ocean",
        ["#0b63ce", "#f3f8fc", "#10233a", "#ffffff", "#10233a", "#0b5cc0", "#ffffff"],
        ["#5aa9ff", "#0d1b2a", "#e3eef9", "#1b2b3d", "#e3eef9", "#1f5fae", "#ffffff"],
    ),
    (
        "forest",
        "Forest",
        ["#2f7d32", "#f4f8f2", "#1b2e1c", "#ffffff", "#1b2e1c", "#2e6b30", "#ffffff"],
        ["#6fcf73", "#0f1a10", "#e4f2e4", "#1c2b1d", "#e4f2e4", "#2e6b30", "#ffffff"],
    ),
    (
        "sunset",
        "Sunset",
        ["#c2410c", "#fff7ed", "#3b1d0a", "#ffffff", "#3b1d0a", "#b93c0a", "#ffffff"],
        ["#fb923c", "#1c1008", "#fdebd8", "#2d1a0e", "#fdebd8", "#9a3412", "#ffffff"],
    ),
    (
        "grape",
        "Grape",
        ["#7c3aed", "#f7f4fd", "#2a1650", "#ffffff", "#2a1650", "#6d28d9", "#ffffff"],
        ["#b794f6", "#160f24", "#ede6fb", "#241a38", "#ede6fb", "#5b21b6", "#ffffff"],
    ),
    (
        "rose",
        "Rose",
        ["#be123c", "#fff5f7", "#3f0d1c", "#ffffff", "#3f0d1c", "#be123c", "#ffffff"],
        ["#fb7185", "#1f0a10", "#fde4ea", "#33141d", "#fde4ea", "#9f1239", "#ffffff"],
    ),
    (
        "graphite",
        "Graphite",
        ["#374151", "#f5f5f5", "#111827", "#ffffff", "#111827", "#374151", "#ffffff"],
        ["#9ca3af", "#111111", "#e5e7eb", "#1f2023", "#e5e7eb", "#3f4652", "#ffffff"],
    ),
];

fn palette(c: &Colours) -> Palette {
    let [accent, background, text, bubble, bubble_text, own_bubble, own_bubble_text] = c.map(str::to_owned);
    Palette { accent, background, text, bubble, bubble_text, own_bubble, own_bubble_text }
}

/// The presets, as `GET /api/v1/themes` lists them.
pub fn presets() -> Vec<ThemePreset> {
    PRESETS
        .iter()
        .map(|(id, name, light, dark)| ThemePreset {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            light: palette(light),
            dark: palette(dark),
        })
        .collect()
}

/// The theme a request asks for, checked: a known preset, or two palettes that pass.
pub fn resolve(req: SetThemeRequest) -> Result<Theme> {
    let theme = match req {
        SetThemeRequest::Preset { preset, .. } => {
            let (id, _, light, dark) = PRESETS.iter().find(|(id, ..)| *id == preset).ok_or_else(|| {
                Error::invalid(ErrorCode::InvalidParameter, format!("{preset:?} is not one of the theme presets"))
            })?;
            Theme { preset: Some((*id).to_owned()), light: palette(light), dark: palette(dark), background: None }
        }
        SetThemeRequest::Custom { light, dark, .. } => {
            Theme { preset: None, light: lowercase(light), dark: lowercase(dark), background: None }
        }
    };
    check("light", &theme.light)?;
    check("dark", &theme.dark)?;
    Ok(theme)
}

fn lowercase(p: Palette) -> Palette {
    let l = |s: String| s.to_ascii_lowercase();
    Palette {
        accent: l(p.accent),
        background: l(p.background),
        text: l(p.text),
        bubble: l(p.bubble),
        bubble_text: l(p.bubble_text),
        own_bubble: l(p.own_bubble),
        own_bubble_text: l(p.own_bubble_text),
    }
}

/// Refuses a palette whose text or accent would be hard to read.
fn check(variant: &str, p: &Palette) -> Result<()> {
    let pairs = [
        ("text", &p.text, "background", &p.background, TEXT_CONTRAST),
        ("bubble_text", &p.bubble_text, "bubble", &p.bubble, TEXT_CONTRAST),
        ("own_bubble_text", &p.own_bubble_text, "own_bubble", &p.own_bubble, TEXT_CONTRAST),
        ("accent", &p.accent, "background", &p.background, ACCENT_CONTRAST),
    ];
    for (front_name, front, back_name, back, needed) in pairs {
        let ratio = contrast(colour(variant, front_name, front)?, colour(variant, back_name, back)?);
        if ratio < needed {
            return Err(Error::invalid(
                ErrorCode::LowContrast,
                format!(
                    "{variant}: {front_name} {front} on {back_name} {back} has a contrast of {ratio:.2}:1; \
                     at least {needed}:1 is needed"
                ),
            ));
        }
    }
    Ok(())
}

/// `#rrggbb` as three bytes.
fn colour(variant: &str, field: &str, hex: &str) -> Result<[u8; 3]> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(d) = digits else {
        return Err(Error::invalid(ErrorCode::InvalidParameter, format!("{variant}.{field} must be #rrggbb")));
    };
    let byte = |i: usize| u8::from_str_radix(&d[i..i + 2], 16).unwrap_or_default();
    Ok([byte(0), byte(2), byte(4)])
}

/// The WCAG 2 contrast ratio of two colours: (L1 + 0.05) / (L2 + 0.05), the lighter first.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_wcag_figures() {
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast([255, 255, 255], [255, 255, 255]) - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1, just above AA.
        let grey = contrast([0x76, 0x76, 0x76], [255, 255, 255]);
        assert!((4.5..4.6).contains(&grey), "{grey}");
    }

    #[test]
    fn every_preset_passes_its_own_rule() {
        for preset in presets() {
            let theme = resolve(SetThemeRequest::preset(&preset.id)).unwrap();
            assert_eq!(theme.preset.as_deref(), Some(preset.id.as_str()));
        }
    }

    #[test]
    fn unreadable_pairs_are_refused_by_name() {
        let good = presets()[0].light.clone();
        let cases = [
            (Palette { text: "#c0c0c0".into(), ..good.clone() }, "light: text #c0c0c0 on background"),
            (Palette { bubble_text: "#eeeeee".into(), ..good.clone() }, "bubble_text #eeeeee on bubble"),
            (Palette { own_bubble: "#9ecbff".into(), ..good.clone() }, "own_bubble_text #ffffff on own_bubble #9ecbff"),
            (Palette { accent: "#e0e8f0".into(), ..good.clone() }, "accent #e0e8f0 on background"),
        ];
        for (light, expected) in cases {
            let err = resolve(SetThemeRequest::Custom {
                light,
                dark: presets()[0].dark.clone(),
                background_upload_id: None,
                keep_background: false,
            })
            .unwrap_err();
            assert_eq!(err.code(), ErrorCode::LowContrast);
            assert!(err.public_message().contains(expected), "{}", err.public_message());
        }
        let dark = Palette { text: "#222222".into(), ..presets()[0].dark.clone() };
        let err = resolve(SetThemeRequest::Custom {
            light: good.clone(),
            dark,
            background_upload_id: None,
            keep_background: false,
        })
        .unwrap_err();
        assert!(err.public_message().starts_with("dark: text"), "{}", err.public_message());
    }

    #[test]
    fn malformed_colours_and_presets_are_refused() {
        let good = presets()[0].light.clone();
        for bad in ["red", "#fff", "#12345g", "0b63ce", "#0b63ce00"] {
            let light = Palette { accent: bad.into(), ..good.clone() };
            let err = resolve(SetThemeRequest::Custom {
                light,
                dark: good.clone(),
                background_upload_id: None,
                keep_background: false,
            })
            .unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidParameter, "{bad}");
        }
        let err = resolve(SetThemeRequest::preset("neon")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameter);
        // Colours are kept in lowercase, whatever the case they came in.
        let light = Palette { accent: "#0B63CE".into(), ..good.clone() };
        let theme = resolve(SetThemeRequest::Custom {
            light,
            dark: presets()[0].dark.clone(),
            background_upload_id: None,
            keep_background: false,
        })
        .unwrap();
        assert_eq!(theme.light.accent, "#0b63ce");
    }
}
