//! The request log on both stores: every page of every query, followed to
//! its end, equals a naive filter and sort of the raw events; pages stay
//! stable while events arrive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use tally_core::*;
use tally_store::log::{LogCursor, LogFilter, LogLimit, LogQuery, LogSort};
use tally_store::*;

conformance!(
    every_filter_and_order_equals_a_scan_of_raw_events,
    pages_do_not_shift_while_events_arrive,
    one_event_is_found_by_id,
);

/// 2026-03-01T00:00:00Z
const START: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;

fn keys() -> Vec<KeyRef> {
    let (o1, o2) = (OrgId::new(), OrgId::new());
    let (p1, p2, p3) = (ProjectId::new(), ProjectId::new(), ProjectId::new());
    let (u1, u2, u3) = (UserId::new(), UserId::new(), UserId::new());
    let k = |org, project, creator| KeyRef {
        org,
        project,
        key: ApiKeyId::new(),
        creator,
    };
    vec![k(o1, p1, u1), k(o1, p1, u2), k(o1, p2, u1), k(o2, p3, u3)]
}

fn in_scope(e: &ActivityEvent, scope: Scope) -> bool {
    match scope {
        Scope::Org(o) => e.org_id == o,
        Scope::Project(p) => e.project_id == p,
        Scope::ApiKey(k) => e.api_key_id == k,
        Scope::Member(o, u) => e.org_id == o && e.created_by == u,
    }
}

/// What the log must answer, written without the store's code.
fn naive(all: &[ActivityEvent], q: &LogQuery) -> Vec<ActivityEvent> {
    let f = &q.filter;
    let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    let is = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
    let mut out: Vec<ActivityEvent> = all
        .iter()
        .filter(|e| in_scope(e, q.scope))
        .filter(|e| e.started_at >= q.from && e.started_at < q.to)
        .filter(|e| f.member.is_none_or(|m| m == e.created_by))
        .filter(|e| eq(&f.canonical_model, &e.canonical_model) && eq(&f.routed_model, &e.routed_model))
        .filter(|e| eq(&f.provider, &e.provider) && eq(&f.app, &e.app) && eq(&f.end_user, &e.end_user))
        .filter(|e| {
            f.tag
                .as_ref()
                .is_none_or(|(k, v)| e.tags.as_ref().and_then(|t| t.get(k)) == Some(v.as_str()))
        })
        .filter(|e| {
            f.endpoint.is_none_or(|x| x == e.endpoint) && (f.outcomes.is_empty() || f.outcomes.contains(&e.outcome))
        })
        .filter(|e| f.http_status.is_none_or(|x| x == e.http_status))
        .filter(|e| is(f.stream, e.stream) && is(f.estimated, e.estimated) && is(f.unpriced, e.unpriced))
        .filter(|e| is(f.usage_invalid, e.usage_invalid))
        .filter(|e| f.min_cost.is_none_or(|m| e.cost >= m))
        .filter(|e| f.min_latency_us.is_none_or(|m| e.latency_us >= m))
        .cloned()
        .collect();
    let key = |e: &ActivityEvent| match q.sort {
        LogSort::Newest => e.started_at.as_millisecond(),
        LogSort::Cost => e.cost.nanos(),
        LogSort::Latency => e.latency_us as i64,
    };
    out.sort_by(|a, b| (key(b), b.id.as_uuid()).cmp(&(key(a), a.id.as_uuid())));
    out
}

/// Every page of `q`, followed by its cursors.
async fn all_pages(store: &dyn Store, mut q: LogQuery) -> (Vec<ActivityEvent>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.log(q.clone()).await.unwrap();
        pages += 1;
        assert!(page.events.len() <= usize::from(q.limit.get()));
        out.extend(page.events);
        match page.next {
            Some(next) => {
                assert_eq!(next.sort, q.sort);
                q.after = Some(next);
            }
            None => return (out, pages),
        }
        assert!(pages < 10_000, "the cursor does not advance");
    }
}

fn query(scope: Scope, filter: LogFilter, sort: LogSort, limit: u16) -> LogQuery {
    LogQuery {
        scope,
        from: at(START),
        to: at(START + 3 * DAY),
        filter,
        sort,
        after: None,
        limit: LogLimit::new(limit).unwrap(),
    }
}

async fn every_filter_and_order_equals_a_scan_of_raw_events(store: Arc<dyn Store>) {
    let keys = keys();
    let mut all = events(11, &keys, START - DAY, 5 * DAY, 3_000);
    // Ties in every order: the same instant, cost and latency, by id.
    for i in 1..40 {
        all[i].started_at = all[0].started_at;
        all[i].cost = all[0].cost;
        all[i].latency_us = all[0].latency_us;
        all[i].org_id = all[0].org_id;
    }
    all[7].usage_invalid = true;
    all[8].http_status = 499;
    for batch in all.chunks(700) {
        store.record(batch.to_vec()).await.unwrap();
    }
    let (k, other) = (keys[0], keys[3]);
    let scopes = [
        Scope::Org(k.org),
        Scope::Project(k.project),
        Scope::ApiKey(k.key),
        Scope::Member(k.org, k.creator),
        Scope::Org(other.org),
        Scope::Org(OrgId::new()),
    ];
    let filters = vec![
        LogFilter::default(),
        LogFilter {
            member: Some(keys[1].creator),
            ..Default::default()
        },
        LogFilter {
            canonical_model: Some("gpt-4o".into()),
            ..Default::default()
        },
        LogFilter {
            routed_model: Some("azure/gpt-4o".into()),
            provider: Some("azure".into()),
            ..Default::default()
        },
        LogFilter {
            app: Some("Ärger-App".into()),
            ..Default::default()
        },
        LogFilter {
            end_user: all[0].end_user.clone().or(Some("usér-1".into())),
            ..Default::default()
        },
        LogFilter {
            tag: Some(("team".into(), "search".into())),
            ..Default::default()
        },
        LogFilter {
            tag: Some(("feature".into(), "rerank".into())),
            stream: Some(true),
            ..Default::default()
        },
        LogFilter {
            endpoint: Some(Endpoint::Messages),
            stream: Some(true),
            ..Default::default()
        },
        LogFilter {
            outcomes: vec![Outcome::Canceled],
            ..Default::default()
        },
        LogFilter {
            outcomes: vec![Outcome::ClientError],
            http_status: Some(400),
            ..Default::default()
        },
        LogFilter {
            http_status: Some(499),
            ..Default::default()
        },
        LogFilter {
            estimated: Some(true),
            ..Default::default()
        },
        LogFilter {
            unpriced: Some(true),
            stream: Some(false),
            ..Default::default()
        },
        LogFilter {
            usage_invalid: Some(true),
            ..Default::default()
        },
        LogFilter {
            min_cost: Some(Money::from_nanos(40_000_000)),
            ..Default::default()
        },
        LogFilter {
            min_latency_us: Some(2_500_000),
            min_cost: Some(Money::from_nanos(1)),
            ..Default::default()
        },
    ];
    let mut checked = 0;
    for scope in scopes {
        for filter in &filters {
            for sort in LogSort::ALL {
                let q = query(scope, filter.clone(), sort, 97);
                let want = naive(&all, &q);
                let (got, pages) = all_pages(&*store, q.clone()).await;
                assert_eq!(got.len(), want.len(), "{q:?}");
                assert!(got == want, "{q:?}");
                // A full last page has no next: the store looks one event ahead.
                assert_eq!(pages, want.len().div_ceil(97).max(1), "{q:?}");
                checked += want.len();
            }
        }
    }
    assert!(checked > 10_000, "the queries select events: {checked}");
    // A range with nothing in it, and the last page exactly full.
    let empty = query(Scope::Org(k.org), LogFilter::default(), LogSort::Newest, 5);
    let empty = LogQuery {
        from: at(START + 10 * DAY),
        to: at(START + 11 * DAY),
        ..empty
    };
    assert!(store.log(empty).await.unwrap().events.is_empty());
}

async fn pages_do_not_shift_while_events_arrive(store: Arc<dyn Store>) {
    for sort in LogSort::ALL {
        // A key of its own per order: the late events of one order are not
        // in another's first read.
        let keys = &keys()[..1];
        let first = events(3, keys, START, DAY, 500);
        store.record(first.clone()).await.unwrap();
        let q = LogQuery {
            to: at(START + 4 * DAY),
            ..query(Scope::ApiKey(keys[0].key), LogFilter::default(), sort, 50)
        };
        let want = naive(&first, &q);
        let mut got = Vec::new();
        let mut q = q;
        let mut round = 0;
        loop {
            let page = store.log(q.clone()).await.unwrap();
            got.extend(page.events);
            // Newer events arrive between pages: later, dearer and slower
            // than any read so far, so they sort before the cursor.
            let mut late = events(100 + round, keys, START + DAY, DAY, 20);
            for e in &mut late {
                e.cost = Money::from_nanos(e.cost.nanos() + 100_000_000);
                e.latency_us += 10_000_000;
            }
            store.record(late).await.unwrap();
            round += 1;
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        assert!(got == want, "{sort:?}: every event of the first read, once, in order");
    }
}

async fn one_event_is_found_by_id(store: Arc<dyn Store>) {
    let all = events(5, &keys(), START, DAY, 30);
    store.record(all.clone()).await.unwrap();
    for e in &all {
        assert_eq!(&store.event(e.id).await.unwrap(), e);
    }
    assert!(matches!(store.event(EventId::new()).await, Err(StoreError::NotFound)));
    // A cursor of another order is the caller's to refuse; the store only
    // needs one of its own.
    let c = LogCursor::after(LogSort::Cost, &all[0]);
    assert_eq!(c.to_string().parse::<LogCursor>().unwrap(), c);
}
