use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// `(zone, period, now, start, end)`: the window containing `now`.
const WINDOWS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "UTC",
        "day",
        "2026-12-08T13:00:00Z",
        "2026-12-08T00:00:00Z",
        "2026-12-09T00:00:00Z",
    ),
    (
        "UTC",
        "day",
        "2026-12-09T00:00:00Z",
        "2026-12-09T00:00:00Z",
        "2026-12-10T00:00:00Z",
    ),
    (
        "UTC",
        "week",
        "2026-12-08T13:00:00Z",
        "2026-12-07T00:00:00Z",
        "2026-12-14T00:00:00Z",
    ),
    (
        "UTC",
        "month",
        "2026-12-31T23:59:59Z",
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    ),
    // New York: the day clocks spring forward has 23 hours, the day they
    // fall back 25.
    (
        "America/New_York",
        "day",
        "2026-03-08T12:00:00Z",
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    ),
    (
        "America/New_York",
        "day",
        "2026-11-01T12:00:00Z",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    ),
    (
        "America/New_York",
        "day",
        "2026-11-02T04:59:59Z",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    ),
    (
        "America/New_York",
        "week",
        "2026-03-08T12:00:00Z",
        "2026-03-02T05:00:00Z",
        "2026-03-09T04:00:00Z",
    ),
    (
        "America/New_York",
        "month",
        "2026-11-15T00:00:00Z",
        "2026-11-01T04:00:00Z",
        "2026-12-01T05:00:00Z",
    ),
    // Kolkata (+05:30): a month resets at local midnight on the 1st.
    (
        "Asia/Kolkata",
        "month",
        "2026-11-30T18:30:00Z",
        "2026-11-30T18:30:00Z",
        "2026-12-31T18:30:00Z",
    ),
    (
        "Asia/Kolkata",
        "month",
        "2026-11-30T18:29:59Z",
        "2026-10-31T18:30:00Z",
        "2026-11-30T18:30:00Z",
    ),
    (
        "Asia/Kolkata",
        "day",
        "2026-12-08T20:00:00Z",
        "2026-12-08T18:30:00Z",
        "2026-12-09T18:30:00Z",
    ),
    // Chatham (+12:45, +13:45 in summer; DST from 27 September 2026).
    (
        "Pacific/Chatham",
        "day",
        "2026-12-08T00:00:00Z",
        "2026-12-07T10:15:00Z",
        "2026-12-08T10:15:00Z",
    ),
    (
        "Pacific/Chatham",
        "day",
        "2026-09-27T00:00:00Z",
        "2026-09-26T11:15:00Z",
        "2026-09-27T10:15:00Z",
    ),
    (
        "Pacific/Chatham",
        "month",
        "2026-09-15T00:00:00Z",
        "2026-08-31T11:15:00Z",
        "2026-09-30T10:15:00Z",
    ),
];

#[test]
fn windows_follow_the_zone() {
    for &(zone, period, now, start, end) in WINDOWS {
        let zone = TimeZone::parse(zone).unwrap();
        let w = period.parse::<Period>().unwrap().window(&zone, ts(now));
        let case = format!("{zone:?} {period} at {now}");
        assert_eq!(w.start, Some(ts(start)), "{case}");
        assert_eq!(w.end, Some(ts(end)), "{case}");
    }
}

#[test]
fn a_lifetime_has_no_window() {
    let w = Period::Total.window(&TimeZone::utc(), ts("2026-12-08T00:00:00Z"));
    assert_eq!(w, Window { start: None, end: None });
}

#[test]
fn scopes_parse_and_say_what_is_wrong() {
    let p = ProjectId::new();
    assert_eq!(BudgetScope::parse("organization", None), Ok(BudgetScope::Organization));
    assert_eq!(
        BudgetScope::parse("project", Some(&p.to_string())),
        Ok(BudgetScope::Project(p))
    );
    let s = BudgetScope::Project(p);
    assert_eq!(BudgetScope::from_parts(s.kind(), s.id()), Ok(s));
    assert!(BudgetScope::parse("project", None).unwrap_err().0.contains("`id`"));
    assert!(BudgetScope::parse("apiKey", Some("nope")).is_err());
    assert!(BudgetScope::parse("team", None).unwrap_err().0.contains("`team`"));
}

#[test]
fn amounts_and_thresholds_are_bounded() {
    assert_eq!("0.01".parse::<Amount>().unwrap().money(), Money::from_nanos(10_000_000));
    for bad in ["0", "-1", "1000000000.000000001", "ten"] {
        assert!(bad.parse::<Amount>().is_err(), "{bad}");
    }
    let t: Thresholds = "100, 50,80,50".parse().unwrap();
    assert_eq!(t.percents(), &[50, 80, 100]);
    assert_eq!(t.to_text(), "50,80,100");
    assert_eq!("".parse::<Thresholds>().unwrap(), Thresholds::default());
    let amount: Amount = "2".parse().unwrap();
    let reached = |usd: &str| t.reached(usd.parse().unwrap(), amount).collect::<Vec<_>>();
    assert_eq!(reached("0.999999999"), [] as [u16; 0]);
    assert_eq!(reached("1"), [50]);
    assert_eq!(reached("1.6"), [50, 80]);
    assert_eq!(reached("2"), [50, 80, 100]);
    for bad in ["0", "1001", "x", "1,2,3,4,5,6,7,8,9,10,11"] {
        assert!(bad.parse::<Thresholds>().is_err(), "{bad}");
    }
}

#[test]
fn periods_and_actions_round_trip() {
    for p in Period::ALL {
        assert_eq!(p.as_str().parse::<Period>(), Ok(p));
    }
    assert!("year".parse::<Period>().is_err());
    for a in [BudgetAction::Block, BudgetAction::Alert] {
        assert_eq!(a.as_str().parse::<BudgetAction>(), Ok(a));
    }
}
