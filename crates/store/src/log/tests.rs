use proptest::prelude::*;
use tally_core::{OrgId, ProjectId};

use super::*;

fn query(scope: Scope) -> LogQuery {
    LogQuery {
        scope,
        from: Timestamp::from_millisecond(1_000).unwrap(),
        to: Timestamp::from_millisecond(2_000).unwrap(),
        filter: LogFilter::default(),
        sort: LogSort::Newest,
        after: None,
        limit: LogLimit::DEFAULT,
    }
}

fn sqlite(n: usize) -> String {
    format!("?{n}")
}

#[test]
fn a_plain_page_is_the_scope_and_the_range_newest_first() {
    let project = ProjectId::new();
    let sql = select(&query(Scope::Project(project)), "id", &sqlite);
    assert_eq!(
        sql.text,
        "SELECT id FROM activity_events WHERE project_id = ?1 AND started_at >= ?2 AND started_at < ?3 \
         ORDER BY started_at DESC, id DESC LIMIT 51"
    );
    assert_eq!(
        sql.params,
        [
            Param::Uuid(*project.as_uuid()),
            Param::Int(1_000, Kind::Int8),
            Param::Int(2_000, Kind::Int8)
        ]
    );
}

/// After a cursor, newest first, the cursor is the only upper bound (an
/// index range from it: pages of a long export cost the same), and one
/// past the range's end is held to it.
#[test]
fn a_newest_first_cursor_is_the_upper_bound() {
    let project = ProjectId::new();
    let id = EventId::new();
    for (key, bound, bound_id) in [(1_500, 1_500, *id.as_uuid()), (9_000, 2_000, Uuid::nil())] {
        let mut q = query(Scope::Project(project));
        q.after = Some(LogCursor {
            sort: LogSort::Newest,
            key,
            id,
        });
        let sql = select(&q, "id", &sqlite);
        assert_eq!(
            sql.text,
            "SELECT id FROM activity_events WHERE project_id = ?1 AND started_at >= ?2 \
             AND (started_at, id) < (?3, ?4) ORDER BY started_at DESC, id DESC LIMIT 51"
        );
        assert_eq!(sql.params[2], Param::Int(bound, Kind::Int8));
        assert_eq!(sql.params[3], Param::Uuid(bound_id));
    }
}

#[test]
fn every_filter_is_a_condition_typed_by_its_column() {
    let org = OrgId::new();
    let user = UserId::new();
    let mut q = query(Scope::Org(org));
    q.filter = LogFilter {
        member: Some(user),
        canonical_model: Some("gpt-4o".into()),
        routed_model: Some("gpt-4o-2024-08-06".into()),
        provider: Some("openai".into()),
        app: Some("search".into()),
        end_user: Some("u-1".into()),
        tag: Some(("team".into(), "search".into())),
        endpoint: Some(Endpoint::Messages),
        outcomes: vec![Outcome::Canceled, Outcome::UpstreamError],
        http_status: Some(499),
        stream: Some(true),
        estimated: Some(false),
        unpriced: Some(false),
        usage_invalid: Some(true),
        min_cost: Some(Money::from_nanos(5)),
        min_latency_us: Some(7),
    };
    q.sort = LogSort::Cost;
    let after = EventId::new();
    q.after = Some(LogCursor {
        sort: LogSort::Cost,
        key: 9,
        id: after,
    });
    let sql = select(&q, "id", &|n| format!("${n}"));
    assert_eq!(
        sql.text,
        "SELECT id FROM activity_events WHERE org_id = $1 AND created_by = $2 AND started_at >= $3 \
         AND started_at < $4 AND canonical_model = $5 AND routed_model = $6 AND provider = $7 AND app = $8 \
         AND end_user = $9 AND length(replace(',' || tags || ',', $10, '')) < length(',' || tags || ',') \
         AND endpoint = $11 AND outcome IN ($12, $13) AND http_status = $14 AND stream = $15 \
         AND estimated = $16 AND unpriced = $17 AND usage_invalid = $18 AND cost_nanos >= $19 \
         AND latency_us >= $20 AND (cost_nanos, id) < ($21, $22) ORDER BY cost_nanos DESC, id DESC LIMIT 51"
    );
    assert_eq!(sql.params[9], Param::Text(",team=search,".into()));
    assert_eq!(
        sql.params[13],
        Param::Int(499, Kind::Int4),
        "http_status is an int4 column"
    );
    assert_eq!(sql.params[14], Param::Bool(true));
    assert_eq!(sql.params[21], Param::Uuid(*after.as_uuid()));
}

#[test]
fn every_column_the_log_reads_is_in_the_event_spec() {
    for sort in LogSort::ALL {
        assert!(event::kind_of(sort.column()).is_some(), "{}", sort.column());
    }
    let q = LogQuery {
        filter: LogFilter {
            http_status: Some(1),
            min_cost: Some(Money::ZERO),
            min_latency_us: Some(0),
            ..LogFilter::default()
        },
        ..query(Scope::Org(OrgId::new()))
    };
    for cond in select(&q, "id", &sqlite).text.split(" AND ") {
        let column = cond.rsplit("WHERE ").next().unwrap().split(' ').next().unwrap();
        assert!(event::kind_of(column).is_some(), "{column}");
    }
}

#[test]
fn a_page_knows_whether_another_follows() {
    let mut q = query(Scope::Org(OrgId::new()));
    q.limit = LogLimit::new(2).unwrap();
    let events: Vec<_> = (0..3)
        .map(|_| tally_core::ActivityEvent {
            id: EventId::new(),
            ..event::blank()
        })
        .collect();
    let page = LogPage::from_rows(&q, events.clone());
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.next, Some(LogCursor::after(LogSort::Newest, &events[1])));
    let last = LogPage::from_rows(&q, events[..2].to_vec());
    assert_eq!(last.next, None);
}

#[test]
fn limits_and_cursors_refuse_what_they_cannot_hold() {
    for bad in ["0", "201", "-1", "", "1.5", "abc"] {
        assert!(bad.parse::<LogLimit>().is_err(), "{bad}");
    }
    assert_eq!("200".parse::<LogLimit>().unwrap().get(), 200);
    let v4 = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef).simple();
    for bad in [
        "".to_owned(),
        "t".to_owned(),
        "x1_0190".to_owned(),
        format!("t-5_{}", EventId::new().as_uuid().simple()),
        format!("t5_{v4}"),
        format!("t5{}", EventId::new().as_uuid().simple()),
    ] {
        assert!(bad.parse::<LogCursor>().is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn a_cursor_reads_back_as_itself(key in 0i64.., sort in 0usize..3) {
        let c = LogCursor { sort: LogSort::ALL[sort], key, id: EventId::new() };
        prop_assert_eq!(c.to_string().parse::<LogCursor>().unwrap(), c);
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panic(s in ".{0,80}") {
        let _ = s.parse::<LogCursor>();
        let _ = s.parse::<LogLimit>();
        let _ = s.parse::<LogSort>();
    }
}
