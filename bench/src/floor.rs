//! The monolith floor: the SQL and Redis work of one checkout (hold, order create,
//! begin payment, extend hold, reserve, charge, confirm delivery, mark paid) done
//! in-process by calling the services' own store code, with no RPC in between.
//! Optionally with the gateway's saga log writes, to show what the log costs.
//!
//! It writes to the system's own databases, so the end-of-run audit checks it too.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use delivery_svc::{
    Redis,
    floor_api::{self as delivery, Deliveries, HoldTtl, Holds},
};
use gateway::{
    ids,
    saga::{
        Saga, SagaLog, State,
        log::LEASE,
        model::{Entry, Phase, Step},
    },
};
use order_svc::floor_api::{self as order, Command, LineRequest, NewOrder, PaymentRecord};
use payment_svc::floor_api as payment;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    driver::{self, Limits, Worker},
    shop::Catalog,
    stats::Stats,
    target::Target,
};

/// Pool size of each database, as each service has by default.
const POOL: u32 = 16;
/// The payment window and hold time the gateway uses by default.
const WINDOW: Duration = Duration::from_secs(300);

/// Connections to what the four services would use.
pub struct Floor {
    order: PgPool,
    payment: PgPool,
    deliveries: Deliveries,
    log: SagaLog,
    /// The lease owner written with each saga, as a gateway instance writes its own.
    owner: Uuid,
}

impl Floor {
    pub async fn connect(target: &Target) -> anyhow::Result<Arc<Self>> {
        let db = &target.databases;
        let delivery_pool = shop_common::db::connect(&db.delivery, POOL).await?;
        let redis = Redis::connect_lazily(&target.redis_url, Duration::from_secs(1))?;
        Ok(Arc::new(Self {
            order: shop_common::db::connect(&db.order, POOL).await?,
            payment: shop_common::db::connect(&db.payment, POOL).await?,
            deliveries: Deliveries::new(
                delivery_pool,
                Holds::new(redis),
                Duration::from_secs(24 * 3600),
                Duration::from_secs(3600),
            ),
            log: SagaLog::new(shop_common::db::connect(&db.gateway, POOL).await?, LEASE),
            owner: Uuid::now_v7(),
        }))
    }

    /// One checkout for `user` of `lines`, with or without the saga log.
    pub async fn checkout(
        &self,
        user: Uuid,
        lines: Vec<LineRequest>,
        with_log: bool,
    ) -> Result<(), String> {
        let order_id = Uuid::now_v7();
        let info = delivery::DeliveryInfo::parse(
            "Kim Minji",
            "12 Teheran-ro, Gangnam-gu, Seoul",
            "010-1234-5678",
            "",
        )
        .map_err(|problems| format!("delivery info: {problems:?}"))?;
        let ttl = HoldTtl::parse(WINDOW + Duration::from_secs(30), Duration::from_secs(3600))
            .map_err(|err| format!("hold ttl: {err}"))?;
        self.deliveries
            .hold(
                delivery::OrderId(order_id),
                delivery::UserId(user),
                info,
                ttl,
            )
            .await
            .map_err(|e| format!("hold: {e}"))?;
        let new = NewOrder {
            id: order::OrderId(order_id),
            user_id: order::UserId(user),
            lines,
            expires_at: Utc::now() + WINDOW,
        };
        order::create_order(&self.order, &new, 10)
            .await
            .map_err(|e| format!("create order: {e}"))?;

        let mut saga = Saga::pay(ids::OrderId(order_id), ids::UserId(user), None);
        let log = with_log.then_some(&self.log);
        if let Some(log) = log {
            log.create(&saga, self.owner)
                .await
                .map_err(|e| format!("saga log: {e}"))?;
        }
        let saga_id = saga.id.0;
        let (order_key, order_saga) = (order::OrderId(order_id), order::SagaId(saga_id));

        self.step(log, &mut saga, Step::Lock).await?;
        let order = order::apply(
            &self.order,
            order_key,
            &Command::BeginPayment { saga: order_saga },
        )
        .await
        .map_err(|e| format!("begin payment: {e}"))?;
        saga.amount = order.total_amount;
        self.done(log, &mut saga).await?;

        self.step(log, &mut saga, Step::KeepHold).await?;
        self.deliveries
            .extend_hold(delivery::OrderId(order_id), Utc::now() + WINDOW)
            .await
            .map_err(|e| format!("extend hold: {e}"))?;
        self.done(log, &mut saga).await?;

        self.step(log, &mut saga, Step::Reserve).await?;
        order::reserve_stock(&self.order, order_key, order_saga)
            .await
            .map_err(|e| format!("reserve: {e}"))?;
        self.done(log, &mut saga).await?;

        self.step(log, &mut saga, Step::Charge).await?;
        let paid = payment::charge(
            &self.payment,
            &payment::ChargeCommand {
                order_id: payment::OrderId(order_id),
                saga_id: payment::SagaId(saga_id),
                user_id: payment::UserId(user),
                amount: order.total_amount,
                coupon_id: None,
            },
        )
        .await
        .map_err(|e| format!("charge: {e}"))?;
        saga.payment_id = Some(ids::PaymentId(paid.id.0));
        saga.paid_amount = paid.paid_amount;
        self.done(log, &mut saga).await?;

        self.step(log, &mut saga, Step::Deliver).await?;
        self.deliveries
            .confirm(
                delivery::OrderId(order_id),
                delivery::SagaId(saga_id),
                Some(delivery::PaymentId(paid.id.0)),
            )
            .await
            .map_err(|e| format!("confirm delivery: {e}"))?;
        self.done(log, &mut saga).await?;

        self.step(log, &mut saga, Step::Finish).await?;
        let record = PaymentRecord {
            payment_id: order::PaymentId(paid.id.0),
            discount_amount: paid.discount_amount,
            paid_amount: paid.paid_amount,
        };
        order::apply(
            &self.order,
            order_key,
            &Command::MarkPaid {
                saga: order_saga,
                payment: record,
            },
        )
        .await
        .map_err(|e| format!("mark paid: {e}"))?;
        self.done(log, &mut saga).await?;

        if let Some(log) = log {
            saga.state = State::Completed;
            let entries = flush(&mut saga, State::Completed.as_str(), "DONE");
            log.record(&saga, &entries, LEASE)
                .await
                .map_err(|e| format!("saga log: {e}"))?;
        }
        Ok(())
    }

    /// The engine's "begin step": written to the log (with the records gathered since
    /// the last write) when the start is a mark, else kept for the next write.
    async fn step(&self, log: Option<&SagaLog>, saga: &mut Saga, step: Step) -> Result<(), String> {
        saga.step = step;
        saga.phase = Phase::Started;
        let Some(log) = log else { return Ok(()) };
        if !saga.start_is_marked() {
            saga.unsaved.push(Entry {
                label: step.as_str().to_owned(),
                phase: "STARTED",
                detail: String::new(),
            });
            return Ok(());
        }
        let entries = flush(saga, step.as_str(), "STARTED");
        log.record(saga, &entries, LEASE)
            .await
            .map_err(|e| format!("saga log: {e}"))?;
        saga.logged.step = step;
        saga.logged.phase = Phase::Started;
        Ok(())
    }

    /// The engine's "step done": recorded now, written with the next log write.
    async fn done(&self, log: Option<&SagaLog>, saga: &mut Saga) -> Result<(), String> {
        saga.phase = Phase::Done;
        if log.is_some() {
            let entry = Entry {
                label: saga.step.as_str().to_owned(),
                phase: "DONE",
                detail: String::new(),
            };
            saga.unsaved.push(entry);
        }
        Ok(())
    }
}

/// Runs the floor with one worker per user for `limits`.
pub async fn run(
    floor: &Arc<Floor>,
    users: &[Uuid],
    catalog: &Catalog,
    with_log: bool,
    limits: Limits,
) -> Stats {
    let workers: Vec<Worker> = users
        .iter()
        .map(|&user| {
            let floor = floor.clone();
            let catalog = catalog.clone();
            Box::new(move || {
                let floor = floor.clone();
                let lines: Vec<LineRequest> = catalog
                    .basket()
                    .into_iter()
                    .filter_map(|l| {
                        Some(LineRequest {
                            product_id: order::ProductId(Uuid::try_parse(&l.product_id).ok()?),
                            quantity: l.quantity,
                        })
                    })
                    .collect();
                Box::pin(async move { floor.checkout(user, lines, with_log).await })
                    as driver::Attempt
            }) as Worker
        })
        .collect();
    driver::run(workers, limits).await
}

/// The saga's unsaved records plus `(label, phase)`, as the engine writes them.
fn flush(saga: &mut Saga, label: &str, phase: &'static str) -> Vec<Entry> {
    let mut entries = std::mem::take(&mut saga.unsaved);
    entries.push(Entry {
        label: label.to_owned(),
        phase,
        detail: String::new(),
    });
    entries
}
