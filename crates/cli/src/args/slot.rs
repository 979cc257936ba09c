//! The slot-name rule, checked before anything is sent.

/// Checks a slot address against the documented rule before anything is sent: `NAME` with
/// `NAME` in `[A-Za-z0-9._-]{1,64}`, or `UID/NAME` with a decimal uid (no sign, no leading
/// zero), the same rule the daemon's store applies, so a typo is a usage error that says why.
pub fn slot_name(text: &str) -> Result<String, String> {
    let (uid, name) = match text.split_once('/') {
        Some((uid, name)) => (Some(uid), name),
        None => (None, text),
    };
    if let Some(uid) = uid {
        let canonical = !uid.is_empty()
            && uid.bytes().all(|b| b.is_ascii_digit())
            && (uid == "0" || !uid.starts_with('0'))
            && uid.parse::<u32>().is_ok();
        if !canonical {
            return Err(format!(
                "{text:?}: the part before '/' must be the owner's decimal uid (UID/NAME)"
            ));
        }
    }
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "{text:?}: a slot name is 1 to 64 characters from A-Z a-z 0-9 . _ -"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{text:?}: {bad:?} is not allowed in a slot name (use A-Z a-z 0-9 . _ -; \
             UID/NAME for another uid's slot)"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::slot_name;

    #[test]
    fn slot_names_follow_the_store_rule() {
        for ok in [
            "a",
            "backup.key",
            "A-Z_0.9",
            "1000/k",
            "0/k",
            &"x".repeat(64),
        ] {
            assert_eq!(slot_name(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "",
            "bad!",
            "a b",
            "01/k",
            "-1/k",
            "/k",
            "1000/",
            "1/2/k",
            "99999999999/k",
            &"x".repeat(65),
        ] {
            assert!(slot_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
