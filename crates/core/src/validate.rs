//! Domain rules for personal-data input: card numbers, company and VAT
//! numbers, phone numbers, country codes, Dutch postal codes, language tags,
//! URLs and e-mail addresses. They are checked in the domain whatever the HTTP
//! edge did, so a value that reaches a store has passed them. Each function is
//! pure: no I/O, no state, the same answer for the same input.

use std::net::Ipv6Addr;

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted for binary search.
pub const COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", //
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW",
    "BY", "BZ", //
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY",
    "CZ", //
    "DE", "DJ", "DK", "DM", "DO", "DZ", //
    "EC", "EE", "EG", "EH", "ER", "ES", "ET", //
    "FI", "FJ", "FK", "FM", "FO", "FR", //
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW",
    "GY", //
    "HK", "HM", "HN", "HR", "HT", "HU", //
    "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", //
    "JE", "JM", "JO", "JP", //
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", //
    "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", //
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV",
    "MW", "MX", "MY", "MZ", //
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", //
    "OM", //
    "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", //
    "QA", //
    "RE", "RO", "RS", "RU", "RW", //
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX",
    "SY", "SZ", //
    "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", //
    "UA", "UG", "UM", "US", "UY", "UZ", //
    "VA", "VC", "VE", "VG", "VI", "VN", "VU", //
    "WF", "WS", //
    "YE", "YT", //
    "ZA", "ZM", "ZW",
];

/// The 27 EU member states plus Iceland, Liechtenstein and Norway, sorted.
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT",
    "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Shortest and longest payment card number (PAN), in digits.
const CARD_MIN: usize = 13;
const CARD_MAX: usize = 19;

/// Most characters between two digit groups that still join them: a card
/// written `4111 1111`, `4111-1111`, `4111.1111`, `4111 / 1111` or
/// `4111--1111` is one number; a longer gap, or any letter, ends it.
const MAX_SEPARATOR: usize = 3;

/// True when `text` holds 13 to 19 digits that pass the Luhn check, written
/// together or in groups split by up to three characters that are neither
/// letters nor digits (spaces, dashes, dots, slashes, `@`, ...), anywhere:
/// in free text, an e-mail address's local part, a URL's path or query.
pub fn contains_card_number(text: &str) -> bool {
    let mut groups: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut gap = 0usize;
    for ch in text.chars() {
        if let Some(digit) = ascii_digit(ch) {
            if gap > MAX_SEPARATOR {
                groups.clear();
            }
            gap = 0;
            current.push(digit);
            continue;
        }
        if !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        if ch.is_alphanumeric() {
            // A letter ends the run: `4111a1111` is not written as a card.
            if run_has_card(&groups) {
                return true;
            }
            groups.clear();
            gap = 0;
        } else {
            gap += 1;
            if gap == MAX_SEPARATOR + 1 {
                if run_has_card(&groups) {
                    return true;
                }
                groups.clear();
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    run_has_card(&groups)
}

/// An ASCII digit's value, or a full-width one's (`４`), which reads the same.
fn ascii_digit(ch: char) -> Option<u8> {
    let value = match ch {
        '0'..='9' => u32::from(ch) - u32::from('0'),
        '\u{ff10}'..='\u{ff19}' => u32::from(ch) - 0xff10,
        _ => return None,
    };
    u8::try_from(value).ok()
}

/// Whether a run of digit groups holds a card number: one ungrouped run of
/// 13-19 digits, or consecutive groups (as cards are written, `4111 1111
/// 1111 1111`) joining to 13-19 digits. A long ungrouped number such as an
/// account or order id is not cut into windows: it is not a card number.
fn run_has_card(groups: &[Vec<u8>]) -> bool {
    if let [single] = groups {
        return (CARD_MIN..=CARD_MAX).contains(&single.len()) && luhn_valid(single);
    }
    (0..groups.len()).any(|start| {
        let mut digits = Vec::new();
        groups[start..].iter().any(|group| {
            digits.extend_from_slice(group);
            (CARD_MIN..=CARD_MAX).contains(&digits.len()) && luhn_valid(&digits)
        })
    })
}

/// The Luhn (mod 10) check over digit values 0..=9; false when empty or when a value exceeds 9.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || digits.iter().any(|&d| d > 9) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A Dutch Chamber of Commerce (KvK) number: exactly 8 ASCII digits.
pub fn is_coc_number(s: &str) -> bool {
    s.len() == 8 && all_digits(s.as_bytes())
}

/// An EU VAT number in compact uppercase form (see [`normalize_vat`]) matching its country's format; no checksum.
pub fn is_vat_number(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || !b.is_ascii() {
        return false;
    }
    let (prefix, rest) = b.split_at(2);
    let digits = |lens: &[usize]| lens.contains(&rest.len()) && all_digits(rest);
    match prefix {
        b"AT" => rest.len() == 9 && rest[0] == b'U' && all_digits(&rest[1..]),
        b"BE" => digits(&[10]) && matches!(rest[0], b'0' | b'1'),
        b"BG" => digits(&[9, 10]),
        b"CY" => rest.len() == 9 && all_digits(&rest[..8]) && rest[8].is_ascii_uppercase(),
        b"CZ" => digits(&[8, 9, 10]),
        b"DE" | b"EE" | b"EL" | b"PT" => digits(&[9]),
        b"DK" | b"FI" | b"HU" | b"LU" | b"MT" | b"SI" => digits(&[8]),
        b"ES" => is_spanish_vat(rest),
        b"FR" => {
            let key = |c: u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && c != b'O' && c != b'I');
            rest.len() == 11 && key(rest[0]) && key(rest[1]) && all_digits(&rest[2..])
        }
        b"HR" | b"IT" | b"LV" => digits(&[11]),
        b"IE" => is_irish_vat(rest),
        b"LT" => digits(&[9, 12]),
        b"NL" => rest.len() == 12 && all_digits(&rest[..9]) && rest[9] == b'B' && all_digits(&rest[10..]),
        b"PL" | b"SK" => digits(&[10]),
        b"RO" => (2..=10).contains(&rest.len()) && all_digits(rest),
        b"SE" => digits(&[12]),
        b"XI" => {
            digits(&[9, 12])
                || (rest.len() == 5 && (rest.starts_with(b"GD") || rest.starts_with(b"HA")) && all_digits(&rest[2..]))
        }
        _ => false,
    }
}

/// Spain: a letter or digit, 7 digits, a letter or digit, with at least one of the two ends a letter.
fn is_spanish_vat(rest: &[u8]) -> bool {
    let [first, middle @ .., last] = rest else {
        return false;
    };
    let end = |c: &u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    rest.len() == 9
        && end(first)
        && end(last)
        && all_digits(middle)
        && (first.is_ascii_uppercase() || last.is_ascii_uppercase())
}

/// Ireland: 7 digits and 1 or 2 letters, or the old form digit, letter/`+`/`*`, 5 digits, letter.
fn is_irish_vat(rest: &[u8]) -> bool {
    let new_form =
        matches!(rest.len(), 8 | 9) && all_digits(&rest[..7]) && rest[7..].iter().all(u8::is_ascii_uppercase);
    let old_form = rest.len() == 8
        && rest[0].is_ascii_digit()
        && (rest[1].is_ascii_uppercase() || rest[1] == b'+' || rest[1] == b'*')
        && all_digits(&rest[2..7])
        && rest[7].is_ascii_uppercase();
    new_form || old_form
}

/// `s` uppercased, with spaces, dots and dashes removed: the form [`is_vat_number`] expects.
pub fn normalize_vat(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).flat_map(char::to_uppercase).collect()
}

/// An E.164 phone number: `+` and 2 to 15 digits, the first of them 1-9, nothing else.
pub fn is_e164(s: &str) -> bool {
    match s.as_bytes() {
        [b'+', first, rest @ ..] => (1..=14).contains(&rest.len()) && matches!(first, b'1'..=b'9') && all_digits(rest),
        _ => false,
    }
}

/// An officially assigned ISO 3166-1 alpha-2 country code, uppercase only.
pub fn is_country_code(s: &str) -> bool {
    COUNTRIES.binary_search(&s).is_ok()
}

/// A member of the European Economic Area: the 27 EU member states plus IS, LI and NO (uppercase only).
pub fn is_eea_country(s: &str) -> bool {
    EEA.binary_search(&s).is_ok()
}

/// An ISO 8601 duration of whole units such as `P2Y`, `P30D`, `P1Y6M`,
/// `P4W` or `PT12H`: `P`, then years, months, weeks and days, then after a
/// `T` hours, minutes and seconds, each at most once, in that order, at
/// least one of them, none with a fraction or sign.
pub fn is_iso8601_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return false,
        None => (rest, None),
    };
    let units_in_order = |part: &str, units: &[u8]| -> Option<usize> {
        let mut next = 0;
        let mut count = 0;
        let mut digits = 0;
        for b in part.bytes() {
            if b.is_ascii_digit() {
                digits += 1;
                if digits > 9 {
                    return None;
                }
                continue;
            }
            let position = units[next..].iter().position(|&u| u == b)?;
            if digits == 0 {
                return None;
            }
            next += position + 1;
            count += 1;
            digits = 0;
        }
        (digits == 0).then_some(count)
    };
    let Some(date_units) = units_in_order(date, b"YMWD") else {
        return false;
    };
    let time_units = match time {
        Some(time) => match units_in_order(time, b"HMS") {
            Some(0) | None => return false,
            Some(n) => n,
        },
        None => 0,
    };
    date_units + time_units > 0
}

/// The canonical `1234 AB` form of a Dutch postal code given as `1234AB` or `1234 ab`; `None` when it is not one.
pub fn normalize_dutch_postal_code(s: &str) -> Option<String> {
    let (digits, letters) = match s.as_bytes() {
        [d @ .., b' ', l1, l2] | [d @ .., l1, l2] if d.len() == 4 => (d, [*l1, *l2]),
        _ => return None,
    };
    if !all_digits(digits) || digits[0] == b'0' || !letters.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let letters = letters.map(|c| c.to_ascii_uppercase());
    if matches!(&letters, b"SA" | b"SD" | b"SS") {
        return None;
    }
    let mut out = String::with_capacity(7);
    out.extend(digits.iter().map(|&c| char::from(c)));
    out.push(' ');
    out.extend(letters.iter().map(|&c| char::from(c)));
    Some(out)
}

/// A structurally valid BCP 47 language tag: a 2-3 or 5-8 letter primary subtag, then `-` subtags of 1-8 alphanumerics.
pub fn is_language_tag(s: &str) -> bool {
    if s.len() > 35 {
        return false;
    }
    let mut subtags = s.split('-');
    let primary_ok =
        subtags.next().is_some_and(|p| matches!(p.len(), 2 | 3 | 5..=8) && p.bytes().all(|c| c.is_ascii_alphabetic()));
    primary_ok && subtags.all(|t| (1..=8).contains(&t.len()) && t.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// An absolute `http` or `https` URL with a plain host or bracketed IPv6 literal, an optional port, and no whitespace.
pub fn is_http_url(s: &str) -> bool {
    if s.len() > 2048 {
        return false;
    }
    let Some(rest) = strip_prefix_ignore_case(s, "http://").or_else(|| strip_prefix_ignore_case(s, "https://")) else {
        return false;
    };
    // Host: a bracketed IPv6 literal, or letters, digits, dots and dashes.
    let after_host = if let Some(literal) = rest.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else {
            return false;
        };
        if inside.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        after
    } else {
        let end = rest.find([':', '/', '?', '#']).unwrap_or(rest.len());
        let (host, after) = rest.split_at(end);
        if host.is_empty() || !host.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-') {
            return false;
        }
        after
    };
    // Optional port: 1 to 5 digits.
    let tail = match after_host.strip_prefix(':') {
        Some(port_and_tail) => {
            let end = port_and_tail.find(['/', '?', '#']).unwrap_or(port_and_tail.len());
            let (port, tail) = port_and_tail.split_at(end);
            if !(1..=5).contains(&port.len()) || !all_digits(port.as_bytes()) {
                return false;
            }
            tail
        }
        None => after_host,
    };
    // Path, query or fragment: anything without whitespace or control characters.
    tail.is_empty() || (tail.starts_with(['/', '?', '#']) && !tail.chars().any(|c| c.is_whitespace() || c.is_control()))
}

/// A pragmatic RFC 5322 addr-spec without quoted local parts; letters beyond ASCII are allowed (IDN).
pub fn is_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    is_email_local_part(local) && is_email_domain(domain)
}

/// The part before the `@`: 1-64 octets of atext, dots only between atoms.
fn is_email_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    (1..=64).contains(&local.len())
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c) || is_idn_char(c))
        })
}

/// The part after the `@`: at most 253 octets, two or more labels, the last not all digits.
fn is_email_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || is_idn_char(c))
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|last| !last.bytes().all(|c| c.is_ascii_digit()))
}

/// A non-ASCII letter or digit, as internationalised addresses may hold.
fn is_idn_char(c: char) -> bool {
    !c.is_ascii() && c.is_alphanumeric()
}

/// `s` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

/// Whether every byte is an ASCII digit (true for an empty slice; callers check lengths).
fn all_digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn iso8601_durations_of_whole_units() {
        for ok in ["P2Y", "P30D", "P1Y6M", "P4W", "PT12H", "P1DT12H", "P1Y2M3W4DT5H6M7S", "PT90M"] {
            assert!(is_iso8601_duration(ok), "{ok}");
        }
        for bad in
            ["", "P", "PT", "2Y", "P2", "PY", "P1.5Y", "P-1D", "P1D2Y", "P1Y1Y", "P1DT", "p2y", "P2Y ", "P1234567890D"]
        {
            assert!(!is_iso8601_duration(bad), "{bad}");
        }
    }

    // ---- card numbers ----

    #[test]
    fn luhn_accepts_known_valid_numbers() {
        for n in ["4111111111111111", "378282246310005", "5500000000000004", "6011111111111117", "79927398713", "0"] {
            assert!(luhn_valid(&digits(n)), "{n}");
        }
    }

    #[test]
    fn luhn_refuses_invalid_numbers_empty_input_and_non_digits() {
        for n in ["4111111111111112", "378282246310006", "79927398710", "1"] {
            assert!(!luhn_valid(&digits(n)), "{n}");
        }
        assert!(!luhn_valid(&[]));
        assert!(!luhn_valid(&[4, 1, 10, 1]));
        assert!(!luhn_valid(b"41"));
    }

    #[test]
    fn luhn_doubles_every_second_digit_from_the_right() {
        // 18: 1*2 + 8 = 10. 81: 8*2-9 + 1 = 8.
        assert!(luhn_valid(&[1, 8]));
        assert!(!luhn_valid(&[8, 1]));
        // 59: 5*2-9 + 9 = 10.
        assert!(luhn_valid(&[5, 9]));
    }

    #[test]
    fn finds_card_numbers_in_the_brief_examples() {
        assert!(contains_card_number("4111 1111 1111 1111"));
        assert!(contains_card_number("4111-1111-1111-1111"));
        assert!(contains_card_number("card 4111111111111111 exp"));
        assert!(contains_card_number("378282246310005"));
        assert!(!contains_card_number("4111111111111112"));
        assert!(!contains_card_number("1234567"));
        assert!(!contains_card_number("my phone +31 6 1234 5678"));
        assert!(!contains_card_number(""));
    }

    #[test]
    fn finds_card_numbers_with_mixed_separators_and_at_the_edges() {
        assert!(contains_card_number("4111 1111-1111 1111"));
        assert!(contains_card_number("3782 822463 10005"));
        assert!(contains_card_number("abc4111111111111111def"));
        assert!(contains_card_number("pay with 5500 0000 0000 0004."));
        assert!(contains_card_number("first 1234, then 4111111111111111"));
        assert!(contains_card_number("4111111111111111\n"));
        assert!(contains_card_number("kaart: 6011-1111-1111-1117 (vervalt 12/27)"));
    }

    #[test]
    fn any_short_separator_joins_groups_and_a_long_gap_or_a_letter_ends_a_run() {
        // Up to three characters that are neither letters nor digits join groups.
        assert!(contains_card_number("4111  1111 1111 1111"));
        assert!(contains_card_number("4111 - 1111 - 1111 - 1111"));
        assert!(contains_card_number("4111--1111--1111--1111"));
        assert!(contains_card_number("4111.1111.1111.1111"));
        assert!(contains_card_number("4111/1111/1111/1111"));
        assert!(contains_card_number("4111_1111_1111_1111"));
        assert!(contains_card_number("(4111)(1111)(1111)(1111)"));
        assert!(contains_card_number("４１１１ １１１１ １１１１ １１１１"));
        // Inside e-mail addresses and URLs.
        assert!(contains_card_number("4111111111111111@example.com"));
        assert!(contains_card_number("4111.1111.1111.1111@example.com"));
        assert!(contains_card_number("https://shop.example/pay?card=4111-1111-1111-1111&x=1"));
        assert!(contains_card_number("https://shop.example/4111/1111/1111/1111"));
        // A separator before or after the run does not matter.
        assert!(contains_card_number("-4111111111111111-"));
        assert!(contains_card_number(" 4111 1111 1111 1111 "));
        // A longer gap, or a letter, ends the run.
        assert!(!contains_card_number("4111    1111    1111    1111"));
        assert!(!contains_card_number("4111é1111é1111é1111"));
        assert!(!contains_card_number("4111a1111b1111c1111"));
    }

    #[test]
    fn ordinary_numbers_are_not_card_numbers() {
        assert!(!contains_card_number("Kerkstraat 12, 1234 AB Utrecht"));
        assert!(!contains_card_number("+31612345678"));
        assert!(!contains_card_number("anna.de.vries+1999@example.nl"));
        assert!(!contains_card_number("https://example.nl/blog/2026/12/02/post-17"));
        assert!(!contains_card_number("order 12345678901234567890123"));
    }

    proptest::proptest! {
        /// Any Luhn-valid 13-19 digit number, cut into groups joined by any
        /// short run of non-alphanumeric characters, inside any text, an
        /// e-mail local part or a URL, is found.
        #[test]
        fn a_card_number_is_found_whatever_separates_its_groups(
            body in proptest::collection::vec(0u8..10, 12..19),
            cuts in proptest::collection::vec(1usize..6, 0..6),
            separators in proptest::collection::vec("[ .,/_:;+=@#*()\\[\\]{}|~'\"-]{1,3}", 6),
            place in 0usize..4,
        ) {
            let pan = with_check_digit(&body);
            assert_is_card(&pan);
            let mut written = String::new();
            let mut next_cut = cuts.iter().copied().scan(0usize, |at, len| { *at += len; Some(*at) });
            let mut cut = next_cut.next();
            for (i, d) in pan.iter().enumerate() {
                if cut == Some(i) && i > 0 {
                    written.push_str(&separators[i % separators.len()]);
                    cut = next_cut.next();
                }
                written.push(char::from(b'0' + d));
            }
            let text = match place {
                0 => written.clone(),
                1 => format!("betaald met {written}, dank"),
                2 => format!("{written}@example.com"),
                _ => format!("https://shop.example/pay?card={written}&x=1"),
            };
            proptest::prop_assert!(contains_card_number(&text), "{}", text);
        }
    }

    /// `body` with the Luhn check digit appended.
    fn with_check_digit(body: &[u8]) -> Vec<u8> {
        (0..10u8)
            .map(|check| {
                let mut pan = body.to_vec();
                pan.push(check);
                pan
            })
            .find(|pan| luhn_valid(pan))
            .unwrap_or_default()
    }

    fn assert_is_card(pan: &[u8]) {
        assert!(luhn_valid(pan) && (13..=19).contains(&pan.len()));
    }

    #[test]
    fn lengths_outside_13_to_19_are_not_cards() {
        // 12 digits, Luhn-valid.
        assert!(luhn_valid(&digits("411111111117")));
        assert!(!contains_card_number("411111111117"));
        // 13 digits, Luhn-valid.
        assert!(luhn_valid(&digits("4222222222222")));
        assert!(contains_card_number("4222222222222"));
        // 19 digits, Luhn-valid.
        assert!(luhn_valid(&digits("6011000000000000001")));
        assert!(contains_card_number("6011000000000000001"));
    }

    #[test]
    fn runs_of_13_to_19_are_checked_whole_only() {
        // The 15-digit prefix of this invalid 16-digit number is not looked for on its own.
        assert!(!luhn_valid(&digits("4111111111111112")));
        assert!(!contains_card_number("4111111111111112"));
    }

    #[test]
    fn finds_a_grouped_card_number_among_other_groups() {
        assert!(contains_card_number("123 4111 1111 1111 1111 123"));
        assert!(contains_card_number("4111 1111 1111 1111 737"), "a trailing CVC does not hide the card");
    }

    #[test]
    fn a_long_ungrouped_number_is_an_id_not_a_card() {
        assert!(!contains_card_number("1234111111111111111123"));
        assert!(!contains_card_number("5550000004111111111111111"));
    }

    #[test]
    fn a_long_run_without_any_luhn_window_is_not_a_card() {
        // Twenty ones: a window of n ones sums to ceil(n/2) + 2 * floor(n/2), never a multiple of 10 for 13..=19.
        let ones = "1".repeat(20);
        for len in CARD_MIN..=CARD_MAX {
            assert!(!luhn_valid(&vec![1; len]), "{len}");
        }
        assert!(!contains_card_number(&ones));
    }

    #[test]
    fn ordinary_numbers_are_not_cards() {
        assert!(!contains_card_number("IBAN NL91ABNA0417164300"));
        assert!(!contains_card_number("KvK 12345678, btw NL123456789B01"));
        assert!(!contains_card_number("order 2024-05-01 at 12:30"));
        assert!(!contains_card_number("+31 20 123 4567"));
    }

    // ---- KvK ----

    #[test]
    fn coc_numbers_are_exactly_eight_digits() {
        assert!(is_coc_number("12345678"));
        assert!(is_coc_number("01234567"));
        for s in ["", "1234567", "123456789", "1234 5678", "1234567a", "１２３４５６７８", "+1234567"] {
            assert!(!is_coc_number(s), "{s}");
        }
    }

    // ---- VAT ----

    #[test]
    fn vat_examples_from_the_brief() {
        assert!(is_vat_number("NL123456789B01"));
        assert!(!is_vat_number("NL123456789B1"));
        assert!(!is_vat_number("NL123456789"));
        assert!(is_vat_number("DE123456789"));
        assert!(is_vat_number("ATU12345678"));
        assert!(!is_vat_number("XX123"));
        assert!(!is_vat_number("nl123456789b01"));
    }

    #[test]
    fn vat_accepts_every_country_format() {
        for s in [
            "ATU12345678",
            "BE0123456789",
            "BE1123456789",
            "BG123456789",
            "BG1234567890",
            "CY12345678L",
            "CZ12345678",
            "CZ123456789",
            "CZ1234567890",
            "DE123456789",
            "DK12345678",
            "EE123456789",
            "EL123456789",
            "ESA1234567B",
            "ESX1234567L",
            "ESA12345678",
            "ES12345678Z",
            "FI12345678",
            "FR12345678901",
            "FRAB123456789",
            "FR1A123456789",
            "FRHZ123456789",
            "HR12345678901",
            "HU12345678",
            "IE1234567T",
            "IE1234567WA",
            "IE1A23456B",
            "IE8Z49289F",
            "IE1+23456A",
            "IE1*23456A",
            "IT12345678901",
            "LT123456789",
            "LT123456789012",
            "LU12345678",
            "LV12345678901",
            "MT12345678",
            "NL123456789B01",
            "PL1234567890",
            "PT123456789",
            "RO12",
            "RO1234567890",
            "SE123456789012",
            "SI12345678",
            "SK1234567890",
            "XI123456789",
            "XI123456789012",
            "XIGD123",
            "XIHA999",
        ] {
            assert!(is_vat_number(s), "{s}");
        }
    }

    #[test]
    fn vat_refuses_wrong_lengths_and_characters() {
        for s in [
            "",
            "N",
            "NL",
            "AT12345678",
            "ATU1234567",
            "ATU123456789",
            "BE2123456789",
            "BE012345678",
            "BG12345678",
            "CY123456789",
            "CY12345678l",
            "CZ1234567",
            "CZ12345678901",
            "DE12345678",
            "DE1234567890",
            "DE12345678A",
            "DK123456789",
            "GR123456789",
            "ES123456789",
            "ESAB234567C",
            "ESa1234567b",
            "ES1234567",
            "FRO1123456789",
            "FRI1123456789",
            "FR1212345678",
            "FRab123456789",
            "HR1234567890",
            "IE1234567",
            "IE1234567ABC",
            "IE12345678",
            "IE1-23456A",
            "IT1234567890",
            "LT1234567890",
            "LU1234567",
            "LV1234567890",
            "MT123456789",
            "NL123456789A01",
            "NL123456789B012",
            "NL12345678B01",
            "NL 123456789B01",
            "PL123456789",
            "PT12345678",
            "RO1",
            "RO12345678901",
            "SE12345678901",
            "SI1234567",
            "SK123456789",
            "XI12345678",
            "XIGD1234",
            "XIAB123",
            "XIgd123",
            "GB123456789",
            "CH123456789",
            "NL12345678９B01",
        ] {
            assert!(!is_vat_number(s), "{s}");
        }
    }

    #[test]
    fn normalize_vat_uppercases_and_strips_separators() {
        assert_eq!(normalize_vat("nl 1234.56789-b01"), "NL123456789B01");
        assert_eq!(normalize_vat("NL123456789B01"), "NL123456789B01");
        assert_eq!(normalize_vat("de 123 456 789"), "DE123456789");
        assert_eq!(normalize_vat(""), "");
        assert_eq!(normalize_vat(" .-"), "");
        // Other characters are kept, so the result is still refused.
        assert_eq!(normalize_vat("NL_123"), "NL_123");
        assert!(is_vat_number(&normalize_vat("nl 1234.56789-b01")));
        assert!(is_vat_number(&normalize_vat("atu 12345678")));
    }

    // ---- phone numbers ----

    #[test]
    fn e164_numbers() {
        for s in ["+31612345678", "+12", "+123456789012345", "+442071234567"] {
            assert!(is_e164(s), "{s}");
        }
        for s in [
            "0612345678",
            "+0123",
            "+31 6 12345678",
            "+",
            "+1",
            "+1234567890123456",
            "31612345678",
            "++31612345678",
            "+31-6-12345678",
            "+3161234567a",
            "+31612345678 ",
            "",
        ] {
            assert!(!is_e164(s), "{s}");
        }
    }

    // ---- countries ----

    #[test]
    fn country_list_is_sorted_unique_uppercase_pairs() {
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(COUNTRIES.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        assert!(EEA.windows(2).all(|w| w[0] < w[1]));
        assert!(EEA.iter().all(|c| is_country_code(c)));
    }

    #[test]
    fn country_codes() {
        for s in ["NL", "BE", "DE", "US", "GB", "AD", "ZW", "AX", "SS", "BQ", "CW", "SX"] {
            assert!(is_country_code(s), "{s}");
        }
        // UK, EU and EL are reserved, XK (Kosovo) is user-assigned, AN was withdrawn.
        for s in ["UK", "XX", "nl", "N", "", "NLD", "EU", "EL", "XK", "AN", "Nl", " NL", "NL "] {
            assert!(!is_country_code(s), "{s}");
        }
    }

    #[test]
    fn eea_countries() {
        for s in [
            "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
            "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
        ] {
            assert!(is_eea_country(s), "{s}");
        }
        for s in ["CH", "GB", "US", "EL", "nl", "", "XI", "TR"] {
            assert!(!is_eea_country(s), "{s}");
        }
    }

    // ---- Dutch postal codes ----

    #[test]
    fn dutch_postal_codes_are_normalised() {
        assert_eq!(normalize_dutch_postal_code("1234AB").as_deref(), Some("1234 AB"));
        assert_eq!(normalize_dutch_postal_code("1234 AB").as_deref(), Some("1234 AB"));
        assert_eq!(normalize_dutch_postal_code("1234 ab").as_deref(), Some("1234 AB"));
        assert_eq!(normalize_dutch_postal_code("9999zZ").as_deref(), Some("9999 ZZ"));
        assert_eq!(normalize_dutch_postal_code("1000 SB").as_deref(), Some("1000 SB"));
    }

    #[test]
    fn dutch_postal_codes_are_refused() {
        for s in [
            "0123 AB",
            "1234 SS",
            "1234 sa",
            "1234SD",
            "12345",
            "",
            "1234",
            "1234 A",
            "1234 ABC",
            "123 AB",
            "12345 AB",
            "1234  AB",
            " 1234 AB",
            "1234 AB ",
            "1234-AB",
            "1234 A1",
            "12a4 AB",
            "1234 ÄB",
            "１２３４ AB",
        ] {
            assert_eq!(normalize_dutch_postal_code(s), None, "{s}");
        }
    }

    // ---- language tags ----

    #[test]
    fn language_tags() {
        for s in ["nl", "nl-NL", "en-GB", "zh-Hant-TW", "es-419", "gsw", "sl-rozaj-biske", "de-DE-u-co-phonebk", "nl-1"]
        {
            assert!(is_language_tag(s), "{s}");
        }
        for s in [
            "",
            "n",
            "nl_NL",
            "nl--NL",
            "toolongprimary",
            "nl-",
            "-nl",
            "nl-NL-",
            "abcd",
            "n1",
            "nl-abcdefghi",
            "nl-N L",
            "nl-ÑL",
            "x-a",
        ] {
            assert!(!is_language_tag(s), "{s}");
        }
    }

    #[test]
    fn language_tags_are_at_most_35_characters() {
        let thirty_five = format!("nl{}-abcde", "-abcdefgh".repeat(3));
        assert_eq!(thirty_five.len(), 35);
        assert!(is_language_tag(&thirty_five));
        let thirty_six = format!("nl{}-abcdef", "-abcdefgh".repeat(3));
        assert_eq!(thirty_six.len(), 36);
        assert!(!is_language_tag(&thirty_six));
        assert!(is_language_tag("abcdefgh"));
        assert!(!is_language_tag("abcdefghi"));
    }

    // ---- URLs ----

    #[test]
    fn http_urls_are_accepted() {
        for s in [
            "https://example.nl",
            "http://example.nl/a?b=c#d",
            "https://sub.example.co.uk:8443/x",
            "HTTPS://EXAMPLE.NL",
            "http://localhost:8080",
            "http://127.0.0.1/",
            "https://[::1]:443/path",
            "https://[2001:db8::1]",
            "https://example.nl?q=1",
            "https://example.nl#top",
            "https://example.nl/é/%20?x=ü",
            "https://xn--bcher-kva.example/",
        ] {
            assert!(is_http_url(s), "{s}");
        }
    }

    #[test]
    fn other_urls_are_refused() {
        for s in [
            "ftp://example.nl",
            "https://",
            "https://exa mple.nl",
            "javascript:alert(1)",
            "example.nl",
            "",
            "http:/example.nl",
            "https//example.nl",
            "https://:443",
            "https://example.nl:",
            "https://example.nl:123456",
            "https://example.nl:80a",
            "https://user@example.nl",
            "https://exa_mple.nl",
            "https://example.nl/a b",
            "https://example.nl/a\tb",
            "https://example.nl/\u{7f}",
            "https://example.nl/a\nb",
            "https://[::1",
            "https://[nope]",
            "https://[]",
            "https://[::1]x",
            "https://bücher.example",
            " https://example.nl",
            "https://example.nl\\evil",
        ] {
            assert!(!is_http_url(s), "{s:?}");
        }
    }

    #[test]
    fn http_urls_are_at_most_2048_bytes() {
        let base = "https://example.nl/";
        let ok = format!("{base}{}", "a".repeat(2048 - base.len()));
        assert_eq!(ok.len(), 2048);
        assert!(is_http_url(&ok));
        let long = format!("{ok}a");
        assert!(!is_http_url(&long));
    }

    // ---- e-mail ----

    #[test]
    fn email_addresses_are_accepted() {
        for s in [
            "jan@example.nl",
            "Jan.Jansen+news@Example.NL",
            "a@b.co",
            "x!#$%&'*+/=?^_`{|}~-y@example.nl",
            "jan@sub.example-domain.nl",
            "jan@123.example.nl",
            "jan@example.a1",
            "jöran@bücher.de",
            "用户@例子.广告",
        ] {
            assert!(is_email(s), "{s}");
        }
    }

    #[test]
    fn email_addresses_are_refused() {
        for s in [
            "jan",
            "jan@",
            "@example.nl",
            "jan@example",
            "jan..x@example.nl",
            "jan@-example.nl",
            "jan@example-.nl",
            ".jan@example.nl",
            "jan.@example.nl",
            "jan@example.nl.",
            "jan@.example.nl",
            "jan@example..nl",
            "jan@@example.nl",
            "jan@x@example.nl",
            "jan jansen@example.nl",
            "\"jan\"@example.nl",
            "jan@exa_mple.nl",
            "jan@192.168.0.1",
            "jan@[192.168.0.1]",
            "jan(x)@example.nl",
            "jan@example.nl ",
            "",
        ] {
            assert!(!is_email(s), "{s}");
        }
    }

    #[test]
    fn email_length_limits() {
        let local64 = "a".repeat(64);
        assert!(is_email(&format!("{local64}@example.nl")));
        assert!(!is_email(&format!("{local64}a@example.nl")));

        let label63 = "b".repeat(63);
        assert!(is_email(&format!("jan@{label63}.nl")));
        assert!(!is_email(&format!("jan@{label63}b.nl")));

        // Domain of 4 * 63 + 3 dots = 255 octets: too long.
        let long_domain = [label63.as_str(); 4].join(".");
        assert!(!is_email(&format!("j@{long_domain}")));

        // Total 254 passes, 255 fails (domain kept under 253).
        let local = "f".repeat(64);
        let domain = format!("{}.{}.{}.nl", "c".repeat(63), "d".repeat(63), "e".repeat(58)); // 189
        let at_254 = format!("{local}@{domain}");
        assert_eq!(at_254.len(), 254);
        assert!(is_email(&at_254));
        let domain = format!("{}.{}.{}.nl", "c".repeat(63), "d".repeat(63), "e".repeat(59)); // 190
        let at_255 = format!("{local}@{domain}");
        assert_eq!(at_255.len(), 255);
        assert!(!is_email(&at_255));
    }
}
