//! The scenarios of the issue, their sizes at a given scale, their goals,
//! and running them.
//!
//! - [`context`]: the server under test, the clock, CPU and memory probes.
//! - [`rooms`]: message load in rooms (the fan-outs, slow-consumer,
//!   many-rooms, big-room, and the fan-outs over a cluster).
//! - [`idle`]: memory per idle connection.
//! - [`storm`]: thousands of joins at once.

pub mod context;
pub mod idle;
pub mod rooms;
pub mod storm;

use crate::figures::{Bound, Goal, Metric, RunFigures};
use context::Context;
use idle::IdlePlan;
use rooms::{Load, RoomsPlan};
use std::time::Duration;
use storm::StormPlan;

/// 1 room, 1,000 members, 4 publishers, 2,000 messages as fast as accepted.
pub const FANOUT_MAX: &str = "fanout-max";
/// fanout-max with the in-memory store.
pub const FANOUT_MAX_MEMORY: &str = "fanout-max-memory";
/// The same room, 1,000 messages/s.
pub const FANOUT_1M: &str = "fanout-1m";
/// The same room, 100 messages/s.
pub const FANOUT_100K: &str = "fanout-100k";
/// fanout-100k with members that stop reading.
pub const SLOW_CONSUMER: &str = "slow-consumer";
/// 1,900 rooms of 10, with churn.
pub const MANY_ROOMS: &str = "many-rooms";
/// One room of 19,000.
pub const BIG_ROOM: &str = "big-room";
/// 19,900 idle connections.
pub const IDLE: &str = "idle";
/// 5,000 joins at once.
pub const JOIN_STORM: &str = "join-storm";
/// fanout-100k's room spread over a cluster of 2 instances (issue 6).
pub const FANOUT_CLUSTER: &str = "fanout-cluster";
/// fanout-1m's room spread over a cluster of 2 instances.
pub const FANOUT_CLUSTER_1M: &str = "fanout-cluster-1m";

/// Every scenario, in the order `all` runs them (fanout-100k before
/// slow-consumer, which is judged against it; the cluster scenarios after
/// the single-server ones they are shown beside).
pub const NAMES: [&str; 11] = [
    FANOUT_MAX,
    FANOUT_MAX_MEMORY,
    FANOUT_1M,
    FANOUT_100K,
    SLOW_CONSUMER,
    MANY_ROOMS,
    BIG_ROOM,
    IDLE,
    JOIN_STORM,
    FANOUT_CLUSTER,
    FANOUT_CLUSTER_1M,
];

/// The server flags of the in-memory variant of fanout-max. `:memory:` is
/// the store the hardening work adds; a server without it fails this
/// scenario at start-up, and says why.
pub const MEMORY_STORE_ARGS: [&str; 2] = ["--db", ":memory:"];

/// The server flags of big-room. The generator, one core playing 19,000
/// clients, reads some of them seconds late during the set-up's join storm
/// (every join sends every member a presence delta), and the server's
/// default stall timeout (3 s) rightly closes a client that reads nothing
/// for that long. The measured part of big-room is not about stalls (5
/// messages a second); slow-consumer measures the stall timeout itself.
pub const BIG_ROOM_ARGS: [&str; 2] = ["--stall-timeout", "30s"];

/// Instances of the cluster scenarios, sharing one broker.
pub const CLUSTER_INSTANCES: usize = 2;

/// Members of the fan-out room (publishers included).
const FANOUT_MEMBERS: usize = 1_000;
/// Publishers of the fan-out room.
const FANOUT_PUBLISHERS: usize = 4;
/// Messages of fanout-max per run.
const FANOUT_MAX_MESSAGES: u64 = 2_000;
/// Messages per second of fanout-1m (1M deliveries/s to 1,000 members).
const FANOUT_1M_RATE: f64 = 1_000.0;
/// Messages per second of fanout-100k.
const FANOUT_100K_RATE: f64 = 100.0;
/// Members that stop reading in slow-consumer.
const STALLED_MEMBERS: usize = 10;
/// Rooms of many-rooms.
const MANY_ROOMS_ROOMS: usize = 1_900;
/// Members per room of many-rooms (and of idle).
const SMALL_ROOM_MEMBERS: usize = 10;
/// Messages per second per room of many-rooms (19,000/s in all).
const MANY_ROOMS_RATE_PER_ROOM: f64 = 10.0;
/// Churning connections of many-rooms.
const CHURNERS: usize = 100;
/// Joins plus leaves per second per churner (200/s in all).
const CHURN_OPS_PER_CHURNER: f64 = 2.0;
/// Members of big-room.
const BIG_ROOM_MEMBERS: usize = 19_000;
/// Messages per second in big-room.
const BIG_ROOM_RATE: f64 = 5.0;
/// Connections of idle: the 20,000 open files per process, less room for
/// the process's own files.
const IDLE_CONNECTIONS: usize = 19_900;
/// Clients of join-storm.
const STORM_CLIENTS: usize = 5_000;
/// Messages of history in the join-storm room.
const STORM_HISTORY: usize = 50;
/// Length of the paced runs at full scale.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Shortest paced run at any scale.
pub const MIN_DURATION: Duration = Duration::from_secs(1);

/// What a scenario does.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Message load in rooms.
    Rooms(RoomsPlan),
    /// Idle connections.
    Idle(IdlePlan),
    /// A join storm.
    Storm(StormPlan),
}

/// A scenario at a given scale.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name, as on the command line.
    pub name: &'static str,
    /// What it does, in a line, at this scale.
    pub what: String,
    /// What it does.
    pub kind: Kind,
    /// Server flags of its own.
    pub server_args: Vec<String>,
    /// The issue's goals for it (at full scale).
    pub goals: Vec<Goal>,
    /// The figures its summary line shows.
    pub headline: Vec<Metric>,
    /// The scenario whose figures (of the same metrics) its summary line
    /// shows beside its own, when that one ran in the same invocation: a
    /// cluster scenario's single-server equivalent.
    pub beside: Option<&'static str>,
}

/// How a scenario went.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every run, warm-ups first.
    pub runs: Vec<RunFigures>,
    /// Why it could not run to the end, if it could not.
    pub failure: Option<String>,
    /// Things worth knowing (an unclean server exit, clients that failed).
    pub notes: Vec<String>,
    /// The arguments its server ran with.
    pub server_args: Vec<String>,
    /// The arguments its broker ran with (cluster scenarios).
    pub broker_args: Vec<String>,
}

impl Outcome {
    fn failed(mut self, why: String) -> Self {
        self.failure = Some(why);
        self
    }
}

/// `count` at `scale`, at least `min`.
pub fn scaled(count: usize, scale: f64, min: usize) -> usize {
    ((count as f64 * scale).round() as usize).max(min)
}

/// Members of the fan-out room at `scale`.
pub fn fanout_members(scale: f64) -> usize {
    scaled(FANOUT_MEMBERS, scale, FANOUT_PUBLISHERS + 4)
}

/// Every scenario at `scale`, paced ones lasting `duration`.
pub fn catalogue(scale: f64, duration: Duration) -> Vec<Scenario> {
    let members = fanout_members(scale);
    let fanout = |load: Load, stalled: usize| RoomsPlan {
        rooms: 1,
        members_per_room: members,
        publishers: FANOUT_PUBLISHERS,
        load,
        churners: 0,
        churn_ops_per_s: 0.0,
        stalled,
        instances: 1,
    };
    let burst = Load::Burst {
        per_room: scaled(FANOUT_MAX_MESSAGES as usize, scale, 100) as u64,
    };
    let paced = |per_s: f64| Load::Paced { per_s, duration };
    let secs = duration.as_secs_f64();
    let max_messages = scaled(FANOUT_MAX_MESSAGES as usize, scale, 100);
    let fanout_max_headline = vec![
        Metric::DeliveriesPerSec,
        Metric::CpuPerDelivery,
        Metric::P50,
        Metric::P99,
        Metric::Lost,
        Metric::ServerCpu,
        Metric::GeneratorCpu,
    ];
    let paced_headline = vec![
        Metric::DeliveriesPerSec,
        Metric::P50,
        Metric::P99,
        Metric::P999,
        Metric::CpuPerDelivery,
        Metric::SendLag,
        Metric::ServerCpu,
        Metric::GeneratorCpu,
    ];
    // Shown beside the single server's: the server side's CPU (all its
    // processes, each also on its own in the report) and memory.
    let cluster_headline = vec![
        Metric::DeliveriesPerSec,
        Metric::P50,
        Metric::P99,
        Metric::MaxLatency,
        Metric::CpuPerDelivery,
        Metric::ServerCpu,
        Metric::ServerRss,
        Metric::GeneratorCpu,
    ];
    // The room and load of the single-server scenario `single`, over a
    // cluster, shown beside it.
    let cluster = |name, single: &'static str, per_s: f64| {
        Scenario {
        name,
        what: format!(
            "{single}'s room (1 room, {members} members, {per_s} messages/s for {secs} s) spread over {CLUSTER_INSTANCES} instances sharing a redis-server"
        ),
        kind: Kind::Rooms(RoomsPlan {
            instances: CLUSTER_INSTANCES,
            ..fanout(paced(per_s), 0)
        }),
        server_args: Vec::new(),
        goals: vec![Goal::at_most(Metric::Lost, 0.0)],
        headline: cluster_headline.clone(),
        beside: Some(single),
    }
    };
    let rooms = scaled(MANY_ROOMS_ROOMS, scale, 4);
    let churners = scaled(CHURNERS, scale, 2);
    let big = scaled(BIG_ROOM_MEMBERS, scale, 20);
    let idle = scaled(IDLE_CONNECTIONS, scale, 20);
    let storm = scaled(STORM_CLIENTS, scale, 20);
    let stalled = scaled(STALLED_MEMBERS, scale, 2);
    vec![
        Scenario {
            name: FANOUT_MAX,
            what: format!("1 room, {members} members, {FANOUT_PUBLISHERS} publishers send {max_messages} messages as fast as accepted"),
            kind: Kind::Rooms(fanout(burst, 0)),
            server_args: Vec::new(),
            goals: vec![
                Goal::at_most(Metric::Lost, 0.0),
                Goal::at_most(Metric::CpuPerDelivery, 0.35),
                Goal::at_least(Metric::DeliveriesPerSec, 1.7e6),
            ],
            headline: fanout_max_headline.clone(),
            beside: None,
        },
        Scenario {
            name: FANOUT_MAX_MEMORY,
            what: format!("fanout-max with the in-memory store ({})", MEMORY_STORE_ARGS.join(" ")),
            kind: Kind::Rooms(fanout(burst, 0)),
            server_args: MEMORY_STORE_ARGS.iter().map(|arg| arg.to_string()).collect(),
            goals: vec![
                Goal::at_most(Metric::Lost, 0.0),
                Goal::judging(Metric::DeliveriesPerSec, Bound::AtLeast, 0.9, FANOUT_MAX),
                Goal::judging(Metric::CpuPerDelivery, Bound::AtMost, 1.1, FANOUT_MAX),
            ],
            headline: fanout_max_headline,
            beside: None,
        },
        Scenario {
            name: FANOUT_1M,
            what: format!("1 room, {members} members, {FANOUT_1M_RATE} messages/s for {secs} s"),
            kind: Kind::Rooms(fanout(paced(FANOUT_1M_RATE), 0)),
            server_args: Vec::new(),
            goals: vec![
                Goal::at_most(Metric::Lost, 0.0),
                Goal::at_most(Metric::P99, 30.0),
                Goal::at_most(Metric::CpuPerDelivery, 0.6),
            ],
            headline: paced_headline.clone(),
            beside: None,
        },
        Scenario {
            name: FANOUT_100K,
            what: format!("1 room, {members} members, {FANOUT_100K_RATE} messages/s for {secs} s"),
            kind: Kind::Rooms(fanout(paced(FANOUT_100K_RATE), 0)),
            server_args: Vec::new(),
            goals: vec![Goal::at_most(Metric::Lost, 0.0), Goal::at_most(Metric::P99, 12.0)],
            headline: paced_headline.clone(),
            beside: None,
        },
        Scenario {
            name: SLOW_CONSUMER,
            what: format!("fanout-100k plus {stalled} members that stop reading"),
            kind: Kind::Rooms(fanout(paced(FANOUT_100K_RATE), stalled)),
            server_args: Vec::new(),
            goals: vec![
                Goal::at_most(Metric::Lost, 0.0),
                Goal::relative(Metric::P99, Bound::AtMost, 1.1, FANOUT_100K),
                Goal::at_most(Metric::DropAfter, 5.0),
                Goal::at_most(Metric::HeldPerStalled, 1024.0),
            ],
            headline: vec![
                Metric::P50,
                Metric::P99,
                Metric::DropAfter,
                Metric::HeldPerStalled,
                Metric::CpuPerDelivery,
                Metric::ServerCpu,
            ],
            beside: None,
        },
        Scenario {
            name: MANY_ROOMS,
            what: format!(
                "{rooms} rooms x {SMALL_ROOM_MEMBERS} members, {} messages/s in all, {} joins+leaves/s by {churners} churners, for {secs} s",
                MANY_ROOMS_RATE_PER_ROOM * rooms as f64,
                CHURN_OPS_PER_CHURNER * churners as f64
            ),
            kind: Kind::Rooms(RoomsPlan {
                rooms,
                members_per_room: SMALL_ROOM_MEMBERS,
                publishers: 1,
                load: paced(MANY_ROOMS_RATE_PER_ROOM * rooms as f64),
                churners,
                churn_ops_per_s: CHURN_OPS_PER_CHURNER * churners as f64,
                stalled: 0,
                instances: 1,
            }),
            server_args: Vec::new(),
            goals: vec![Goal::at_most(Metric::Lost, 0.0), Goal::at_most(Metric::P99, 20.0)],
            headline: vec![
                Metric::DeliveriesPerSec,
                Metric::P50,
                Metric::P99,
                Metric::ChurnOps,
                Metric::CpuPerDelivery,
                Metric::ServerCpu,
                Metric::GeneratorCpu,
            ],
            beside: None,
        },
        Scenario {
            name: BIG_ROOM,
            what: format!("1 room, {big} members, {BIG_ROOM_RATE} messages/s for {secs} s"),
            kind: Kind::Rooms(RoomsPlan {
                rooms: 1,
                members_per_room: big,
                publishers: 1,
                load: paced(BIG_ROOM_RATE),
                churners: 0,
                churn_ops_per_s: 0.0,
                stalled: 0,
                instances: 1,
            }),
            server_args: BIG_ROOM_ARGS.iter().map(|arg| arg.to_string()).collect(),
            goals: vec![Goal::at_most(Metric::Lost, 0.0), Goal::at_most(Metric::P99, 60.0)],
            headline: vec![
                Metric::DeliveriesPerSec,
                Metric::P50,
                Metric::P99,
                Metric::CpuPerDelivery,
                Metric::ServerCpu,
            ],
            beside: None,
        },
        Scenario {
            name: IDLE,
            what: format!("{idle} connections, each joined to a room of {SMALL_ROOM_MEMBERS}"),
            kind: Kind::Idle(IdlePlan {
                connections: idle,
                per_room: SMALL_ROOM_MEMBERS,
            }),
            server_args: Vec::new(),
            goals: vec![
                Goal::at_most(Metric::Failures, 0.0),
                Goal::at_most(Metric::RssPerConnection, 2.0),
            ],
            headline: vec![Metric::RssPerConnection, Metric::Failures, Metric::ServerRss],
            beside: None,
        },
        Scenario {
            name: JOIN_STORM,
            what: format!("{storm} clients join one room with {STORM_HISTORY} messages of history at once"),
            kind: Kind::Storm(StormPlan {
                clients: storm,
                history: STORM_HISTORY,
            }),
            server_args: Vec::new(),
            goals: vec![
                Goal::at_most(Metric::AllJoined, 3.0),
                Goal::at_most(Metric::Failures, 0.0),
            ],
            headline: vec![Metric::AllJoined, Metric::Failures, Metric::P50, Metric::P99, Metric::ServerCpu],
            beside: None,
        },
        cluster(FANOUT_CLUSTER, FANOUT_100K, FANOUT_100K_RATE),
        cluster(FANOUT_CLUSTER_1M, FANOUT_1M, FANOUT_1M_RATE),
    ]
}

/// Runs one scenario.
pub async fn run(ctx: &Context, scenario: &Scenario) -> Outcome {
    match &scenario.kind {
        Kind::Rooms(plan) => rooms::run(ctx, scenario.name, plan, &scenario.server_args).await,
        Kind::Idle(plan) => idle::run(ctx, scenario.name, plan).await,
        Kind::Storm(plan) => storm::run(ctx, scenario.name, plan).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_matches_the_issue() {
        let all = catalogue(1.0, DEFAULT_DURATION);
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        assert_eq!(names, NAMES);
        let Kind::Rooms(max) = &all[0].kind else {
            panic!("fanout-max is a room scenario");
        };
        assert_eq!((max.members(), max.publishers), (1_000, 4));
        assert!(matches!(max.load, Load::Burst { per_room: 2_000 }));
        let Kind::Rooms(one_m) = &all[2].kind else {
            panic!("fanout-1m is a room scenario");
        };
        assert_eq!(one_m.offered_deliveries_per_s(), Some(1e6));
        let Kind::Rooms(many) = &all[5].kind else {
            panic!("many-rooms is a room scenario");
        };
        assert_eq!(many.members(), 19_000);
        assert!(matches!(many.load, Load::Paced { per_s, .. } if per_s == 19_000.0));
        assert_eq!(many.churn_ops_per_s, 200.0);
        let Kind::Idle(idle) = &all[7].kind else {
            panic!("idle");
        };
        assert_eq!(idle.connections, 19_900);
        assert_eq!(all[1].server_args, ["--db", ":memory:"]);
        for (cluster, single) in [(&all[9], &all[3]), (&all[10], &all[2])] {
            let (Kind::Rooms(cluster_plan), Kind::Rooms(single_plan)) =
                (&cluster.kind, &single.kind)
            else {
                panic!("room scenarios");
            };
            // The single server's room and load, over 2 instances, shown beside it.
            assert_eq!(cluster.beside, Some(single.name));
            assert_eq!((cluster_plan.instances, single_plan.instances), (2, 1));
            assert_eq!(cluster_plan.members(), single_plan.members());
            assert_eq!(cluster_plan.publishers, single_plan.publishers);
            assert_eq!(
                cluster_plan.offered_deliveries_per_s(),
                single_plan.offered_deliveries_per_s()
            );
        }
    }

    #[test]
    fn smaller_scales_shrink_sizes_but_keep_minimums() {
        let small = catalogue(0.05, MIN_DURATION);
        let Kind::Rooms(max) = &small[0].kind else {
            panic!("fanout-max is a room scenario");
        };
        assert_eq!(max.members(), 50);
        let Kind::Rooms(slow) = &small[4].kind else {
            panic!("slow-consumer is a room scenario");
        };
        assert_eq!(slow.stalled, 2);
        assert_eq!(scaled(10, 0.001, 3), 3);
    }
}
