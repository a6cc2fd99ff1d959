//! Plans as text, one line a scan: `table[@phase] [from, to) …` in the
//! table's own buckets.

use tally_core::{ApiKeyId, OrgId, ProjectId, UserId};

use super::*;
use crate::Scope;

fn query(scope: Scope, group_by: &[Dim], from: i64, to: i64, cuts: &[i64]) -> UsageQuery {
    UsageQuery {
        scope,
        from_bucket: from,
        to_bucket: to,
        group_by: group_by.to_vec(),
        cuts: cuts.to_vec(),
    }
}

fn lines(q: &UsageQuery, open_day: i64, phases: &[i64]) -> Vec<String> {
    spanned(q, open_day, phases, 0)
}

fn spanned(q: &UsageQuery, open_day: i64, phases: &[i64], spans_open: i64) -> Vec<String> {
    plan(
        q,
        Kept {
            open_day,
            phases,
            spans_open,
        },
    )
    .iter()
    .map(ToString::to_string)
    .collect()
}

/// Asia/Kolkata (+05:30): a local day starts 22 quarters before UTC midnight.
const IST: i64 = 330;
const FAR: i64 = 1_000_000;

/// What a case is, the query, the open day, the kept phases, the plan.
type Case = (&'static str, UsageQuery, i64, &'static [i64], Vec<&'static str>);

#[test]
fn plans() {
    let org = Scope::Org(OrgId::new());
    let project = Scope::Project(ProjectId::new());
    let key = Scope::ApiKey(ApiKeyId::new());
    let member = Scope::Member(OrgId::new(), UserId::new());
    let by_day = [Dim::Bucket];
    let cases: Vec<Case> = vec![
        (
            "a closed UTC day: one day row range",
            query(org, &[], 96, 192, &[]),
            FAR,
            &[],
            vec!["rollup_org_member_day [1, 2)"],
        ),
        (
            "the same day still open: its hours",
            query(org, &[], 96, 192, &[]),
            1,
            &[],
            vec!["rollup_org_member_hour [24, 48)"],
        ),
        (
            "a Kolkata day by model without its phase: quarters at the edges, hours between",
            query(project, &[Dim::CanonicalModel, Dim::Bucket], 170, 266, &[170]),
            FAR,
            &[],
            vec![
                "usage_rollups [170, 172) [264, 266)",
                "rollup_project_model_hour [43, 66)",
            ],
        ),
        (
            "the same with its phase kept: one local-day range",
            query(project, &[Dim::CanonicalModel, Dim::Bucket], 170, 266, &[170]),
            FAR,
            &[IST],
            vec!["rollup_project_model_localday@330 [2, 3)"],
        ),
        (
            "two Kolkata days, the second cut at its noon: a local day, then the UTC way",
            query(member, &[Dim::App, Dim::Bucket], 170, 362, &[170, 266, 314]),
            FAR,
            &[IST],
            vec![
                "rollup_member_app_localday@330 [2, 3)",
                "usage_rollups [266, 268) [312, 316) [360, 362)",
                "rollup_member_app_hour [67, 78) [79, 90)",
            ],
        ),
        (
            "grouped by bucket without cuts: 15-minute detail, never local days",
            query(org, &by_day, 170, 266, &[]),
            FAR,
            &[IST],
            vec!["usage_rollups [170, 172) [264, 266)", "rollup_org_member_hour [43, 66)"],
        ),
        (
            "a key by app: no shape holds it, every 15-minute row",
            query(key, &[Dim::App], 0, 192, &[]),
            FAR,
            &[],
            vec!["usage_rollups [0, 192)"],
        ),
        (
            "a key by routed model: a shape without local days",
            query(key, &[Dim::RoutedModel, Dim::Bucket], 170, 266, &[170]),
            FAR,
            &[IST],
            vec!["usage_rollups [170, 172) [264, 266)", "rollup_key_model_hour [43, 66)"],
        ),
        (
            "an empty range",
            query(org, &by_day, 192, 192, &[192]),
            FAR,
            &[IST],
            vec![],
        ),
        ("an inverted range", query(org, &[], 192, 96, &[]), FAR, &[], vec![]),
    ];
    for (what, q, open_day, phases, want) in cases {
        assert_eq!(lines(&q, open_day, phases), want, "{what}");
    }
}

#[test]
fn long_ranges_of_a_spanned_shape_read_complete_spans() {
    let project = Scope::Project(ProjectId::new());
    let by_user = [Dim::EndUser];
    let q = query(project, &by_user, 96, 100 * 96, &[]);
    assert_eq!(
        spanned(&q, FAR, &[], FAR),
        [
            "rollup_project_end_user_span@0/1 [2, 3)",
            "rollup_project_end_user_span@0/2 [4, 5) [96, 97)",
            "rollup_project_end_user_span@0/3 [8, 9)",
            "rollup_project_end_user_span@0/4 [16, 17)",
            "rollup_project_end_user_span@0/5 [32, 33) [64, 65)",
            "rollup_project_end_user_day [1, 2)",
        ],
        "days 1 to 99, every span complete"
    );
    assert_eq!(
        spanned(&q, FAR, &[], 50),
        [
            "rollup_project_end_user_span@0/1 [2, 3) [48, 49)",
            "rollup_project_end_user_span@0/2 [4, 5)",
            "rollup_project_end_user_span@0/3 [8, 9)",
            "rollup_project_end_user_span@0/4 [16, 17) [32, 33)",
            "rollup_project_end_user_day [1, 2) [50, 100)",
        ],
        "spans complete up to day 50 only"
    );
    assert_eq!(
        spanned(&q, FAR, &[], 0),
        ["rollup_project_end_user_day [1, 100)"],
        "no span complete"
    );
    let by_day = query(project, &[Dim::EndUser, Dim::Bucket], 96, 100 * 96, &[96]);
    assert_eq!(
        spanned(&by_day, FAR, &[], FAR),
        ["rollup_project_end_user_day [1, 100)"],
        "by period: days, labelled one by one"
    );
    // Kolkata's local days 10 to 13 (a local day starts 22 quarters early).
    let local = query(project, &by_user, 10 * 96 - 22, 14 * 96 - 22, &[]);
    assert_eq!(
        spanned(&local, FAR, &[IST], FAR),
        ["rollup_project_end_user_span@330/1 [10, 11) [12, 13)"]
    );
    // Local day 13 ends 22 quarters before UTC day 14, after day 13 starts.
    assert_eq!(
        spanned(&local, FAR, &[IST], 13),
        [
            "rollup_project_end_user_span@330/1 [10, 11)",
            "rollup_project_end_user_localday@330 [12, 14)"
        ]
    );
}

#[test]
fn a_phase_s_days_end_by_a_utc_day_start_as_its_offset_says() {
    // Kolkata's local day 13 ends at 18:30 UTC on UTC day 13.
    assert_eq!(days_ended_by(14, IST), 14);
    assert_eq!(days_ended_by(13, IST), 13);
    // New York's (-05:00) local day 12 ends at 05:00 UTC on UTC day 13.
    assert_eq!(days_ended_by(13, -300), 12);
    assert_eq!(days_ended_by(13, 0), 13);
}

#[test]
fn levels_use_the_coarsest_ranges_that_fit() {
    assert_eq!(levels(96, 192, &[]), [vec![], vec![], vec![(1, 2)]]);
    assert_eq!(
        levels(170, 266, &[]),
        [vec![(170, 172), (264, 266)], vec![(43, 66)], vec![]]
    );
    // Cut at 12:00 of the second day: no row straddles the cut.
    assert_eq!(levels(0, 192, &[144]), [vec![], vec![(24, 48)], vec![(0, 1)]]);
    assert_eq!(levels(5, 7, &[]), [vec![(5, 7)], vec![], vec![]]);
    assert_eq!(levels(7, 5, &[]), [vec![], vec![], vec![]]);
    assert_eq!(levels(192, 0, &[96]), [vec![], vec![], vec![]]);
}

#[test]
fn days_from_the_open_day_on_are_read_by_hour() {
    assert_eq!(split(vec![(1, 5)], 10), (vec![(1, 5)], vec![]));
    assert_eq!(split(vec![(1, 5)], 3), (vec![(1, 3)], vec![(72, 120)]));
    assert_eq!(split(vec![(1, 5)], 1), (vec![], vec![(24, 120)]));
    assert_eq!(split(vec![(0, 2), (4, 6)], 5), (vec![(0, 2), (4, 5)], vec![(120, 144)]));
}

#[test]
fn local_days_start_at_their_offset() {
    // Asia/Kolkata (+05:30): days start at 18:30 UTC, quarter 74 of the UTC day.
    assert!(starts_day(74, IST));
    assert!(starts_day(96 + 74, IST));
    assert!(!starts_day(96, IST));
    // America/New_York in winter (-05:00): days start at 05:00 UTC.
    assert!(starts_day(20, -300));
    assert!(!starts_day(74, -300));
}
