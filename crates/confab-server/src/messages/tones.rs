//! Tone indicators (`/j`, `/srs`, `/lh`, …): how a message is meant, kept as data beside its
//! text. The list is the one of toneindicators.carrd.co (and the codes in common use beside it),
//! plus the operator's `[[tones.extra]]`.
//!
//! Indicators at the very end of a body are lifted out of it ([`Tones::apply`]), so that clients
//! can show them as chips with their meaning and bots can read them without parsing text.

use confab_proto::ErrorCode;
use confab_proto::rest::ToneInfo;

use crate::config::{ConfigError, ToneConfig};
use crate::error::{Error, Result};

/// Indicators one message may carry.
pub const MAX_TONES: usize = 5;

/// The built-in list: code, meaning, aliases.
const BUILT_IN: &[(&str, &str, &[&str])] = &[
    ("j", "joking", &[]),
    ("hj", "half-joking", &[]),
    ("s", "sarcastic", &["sarc"]),
    ("srs", "serious", &[]),
    ("hsrs", "half-serious", &[]),
    ("nsrs", "not serious", &[]),
    ("gen", "genuine", &["g"]),
    ("genq", "genuine question", &[]),
    ("pos", "positive connotation", &["pc"]),
    ("neg", "negative connotation", &["nc"]),
    ("neu", "neutral connotation", &[]),
    ("lh", "light-hearted", &[]),
    ("nm", "not mad", &[]),
    ("lu", "a little upset", &[]),
    ("p", "platonic", &[]),
    ("r", "romantic", &[]),
    ("t", "teasing", &[]),
    ("ij", "inside joke", &[]),
    ("m", "metaphorically", &[]),
    ("li", "literally", &[]),
    ("hyp", "hyperbole", &[]),
    ("rh", "rhetorical question", &["rt"]),
    ("f", "fake", &[]),
    ("th", "threat", &[]),
    ("c", "copypasta", &[]),
    ("l", "lyrics", &["ly"]),
    ("ref", "reference", &[]),
    ("nbh", "nobody here (not aimed at anyone reading)", &[]),
    ("sbh", "somebody here", &[]),
    ("nsb", "not subtweeting", &[]),
    ("nay", "not at you", &[]),
    ("ay", "at you", &[]),
    ("npa", "not passive-aggressive", &[]),
    ("aff", "affectionate", &[]),
    ("sx", "sexual intent", &["x"]),
    ("nsx", "non-sexual intent", &["nx"]),
    ("cb", "clickbait", &[]),
    ("rp", "roleplay", &[]),
    ("ot", "off-topic", &[]),
];

/// The indicators this server knows.
#[derive(Debug, Clone)]
pub struct Tones {
    list: Vec<ToneInfo>,
}

impl Tones {
    /// The built-in list and the operator's additions (a code of 1–8 lowercase ASCII letters that
    /// is not taken, and a meaning).
    pub fn new(extra: &[ToneConfig]) -> Result<Tones, ConfigError> {
        let mut tones = Tones {
            list: BUILT_IN
                .iter()
                .map(|(code, meaning, aliases)| ToneInfo {
                    code: (*code).to_owned(),
                    meaning: (*meaning).to_owned(),
                    aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
                })
                .collect(),
        };
        for tone in extra {
            let code = tone.code.trim_start_matches('/');
            let valid = !code.is_empty() && code.len() <= 8 && code.bytes().all(|b| b.is_ascii_lowercase());
            let meaning = tone.meaning.trim();
            if !valid || meaning.is_empty() || meaning.chars().count() > 100 {
                return Err(ConfigError::Invalid(
                    "tones.extra: each needs a code of 1 to 8 lowercase letters and a meaning of up to 100 characters"
                        .into(),
                ));
            }
            if tones.canonical(code).is_some() {
                return Err(ConfigError::Invalid(format!("tones.extra: /{code} is already a tone indicator")));
            }
            tones.list.push(ToneInfo { code: code.to_owned(), meaning: meaning.to_owned(), aliases: Vec::new() });
        }
        Ok(tones)
    }

    pub fn list(&self) -> &[ToneInfo] {
        &self.list
    }

    /// The code that `code` (a code or an alias, any case, without the slash) stands for.
    pub fn canonical(&self, code: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(code) || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(code)))
            .map(|t| t.code.as_str())
    }

    /// The body to store and its indicators: those `chosen` (validated) and, unless `literal`,
    /// those lifted off the end of `body`. The body loses only the lifted indicators and the
    /// whitespace before them.
    pub fn apply<'b>(&self, body: &'b str, chosen: &[String], literal: bool) -> Result<(&'b str, Vec<String>)> {
        let mut tones: Vec<String> = Vec::new();
        for code in chosen {
            let canonical = self
                .canonical(code.trim_start_matches('/'))
                .ok_or_else(|| Error::invalid(ErrorCode::InvalidTone, format!("{code:?} is not a tone indicator")))?;
            push_once(&mut tones, canonical);
        }
        let (kept, lifted) = if literal { (body, Vec::new()) } else { self.lift(body) };
        for code in lifted {
            push_once(&mut tones, code);
        }
        if tones.len() > MAX_TONES {
            return Err(Error::invalid(
                ErrorCode::InvalidTone,
                format!("a message has at most {MAX_TONES} tone indicators"),
            ));
        }
        Ok((kept, tones))
    }

    /// Splits trailing indicators off `body`: `("you're the worst", ["j"])` for
    /// `"you're the worst /j"`. Stops at the first word that is not one, and keeps a body that
    /// would be left blank as it is.
    fn lift<'b>(&self, body: &'b str) -> (&'b str, Vec<&str>) {
        let mut kept = body.trim_end();
        let mut lifted = Vec::new();
        while let Some((before, word)) = kept.rsplit_once(char::is_whitespace) {
            let Some(code) = word.strip_prefix('/').and_then(|c| self.canonical(c)) else { break };
            if before.trim().is_empty() {
                // Nothing but indicators: the message is about them, keep it as written.
                return (body, Vec::new());
            }
            lifted.push(code);
            kept = before.trim_end();
        }
        if lifted.is_empty() {
            return (body, lifted);
        }
        lifted.reverse();
        (kept, lifted)
    }
}

fn push_once(tones: &mut Vec<String>, code: &str) {
    if !tones.iter().any(|t| t == code) {
        tones.push(code.to_owned());
    }
}

/// Tones as the store keeps them: `"j lh"`; `None` for none.
pub fn stored(tones: &[String]) -> Option<String> {
    (!tones.is_empty()).then(|| tones.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tones() -> Tones {
        Tones::new(&[ToneConfig { code: "gg".into(), meaning: "good game".into() }]).unwrap()
    }

    fn apply(body: &str) -> (String, Vec<String>) {
        let (kept, tones) = tones().apply(body, &[], false).unwrap();
        (kept.to_owned(), tones)
    }

    #[test]
    fn trailing_indicators_are_lifted() {
        assert_eq!(apply("you're the worst /j"), ("you're the worst".into(), vec!["j".into()]));
        assert_eq!(apply("fine. /lh /pos  \n"), ("fine.".into(), vec!["lh".into(), "pos".into()]));
        // Aliases become their code, any case; repeats collapse.
        assert_eq!(apply("sure /SARC /s"), ("sure".into(), vec!["s".into()]));
        assert_eq!(apply("well played /gg"), ("well played".into(), vec!["gg".into()]));
        assert_eq!(apply("line one\nline two\n/srs"), ("line one\nline two".into(), vec!["srs".into()]));
    }

    #[test]
    fn what_is_not_a_trailing_indicator_stays_text() {
        for body in ["/j", "  /j /s", "an /unknown tag", "ends in /unknown", "a/j", "/j at the start", "path /usr/bin"]
        {
            assert_eq!(apply(body), (body.into(), vec![]), "{body:?}");
        }
        // Lifting stops at the first word that is not an indicator.
        assert_eq!(apply("ok /j /unknown"), ("ok /j /unknown".into(), vec![]));
        assert_eq!(apply("ok /unknown /j"), ("ok /unknown".into(), vec!["j".into()]));
    }

    #[test]
    fn chosen_ones_come_first_and_are_checked() {
        let t = tones();
        let (kept, got) = t.apply("hi /j", &["/lh".into(), "j".into()], false).unwrap();
        assert_eq!((kept, got), ("hi", vec!["lh".into(), "j".into()]));
        let (kept, got) = t.apply("hi /j", &[], true).unwrap();
        assert_eq!((kept, got), ("hi /j", vec![]));
        assert_eq!(t.apply("hi", &["nope".into()], false).unwrap_err().code(), ErrorCode::InvalidTone);
        let six: Vec<String> = ["j", "s", "srs", "lh", "pos", "neg"].map(String::from).to_vec();
        assert_eq!(t.apply("hi", &six, false).unwrap_err().code(), ErrorCode::InvalidTone);
    }

    #[test]
    fn extra_codes_are_checked() {
        for (code, meaning) in [("", "x"), ("Caps", "x"), ("toolongcode", "x"), ("ok", " "), ("j", "taken")] {
            assert!(Tones::new(&[ToneConfig { code: code.into(), meaning: meaning.into() }]).is_err(), "{code}");
        }
        assert_eq!(stored(&["j".into(), "lh".into()]).as_deref(), Some("j lh"));
        assert_eq!(stored(&[]), None);
    }
}
