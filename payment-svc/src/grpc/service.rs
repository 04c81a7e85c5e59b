//! `shop.payment.v1.PaymentService`: validates, calls the store, converts back.

use shop_proto::{
    common as pb,
    payment::{self as api, payment_service_server::PaymentService},
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::convert;
use crate::{
    domain::{RefundOutcome, UserId, Wallet},
    error::Error,
    store::{self, charge::charge, refund::refund},
};

#[derive(Clone)]
pub struct PaymentApi {
    pool: PgPool,
}

impl PaymentApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn wallet(&self, user: UserId) -> Result<Wallet, Error> {
        let mut conn = self.pool.acquire().await?;
        let balance = store::wallets::balance(&mut conn, user).await?;
        let coupons = store::coupons::of_user(&mut conn, user).await?;
        Ok(Wallet {
            user_id: user,
            balance,
            coupons,
        })
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn top_up(
        &self,
        request: Request<api::TopUpRequest>,
    ) -> Result<Response<pb::Wallet>, Status> {
        let top_up = convert::top_up(request.get_ref())?;
        store::wallets::top_up(&self.pool, &top_up).await?;
        let wallet = self.wallet(top_up.user_id).await?;
        Ok(Response::new(convert::wallet_to_pb(wallet)))
    }

    async fn get_wallet(
        &self,
        request: Request<api::GetWalletRequest>,
    ) -> Result<Response<pb::Wallet>, Status> {
        let user = convert::user_id(&request.get_ref().user_id)?;
        let wallet = self.wallet(user).await?;
        Ok(Response::new(convert::wallet_to_pb(wallet)))
    }

    async fn issue_coupon(
        &self,
        request: Request<api::IssueCouponRequest>,
    ) -> Result<Response<pb::Coupon>, Status> {
        let coupon = convert::new_coupon(request.get_ref())?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let coupon = store::coupons::insert(&mut conn, &coupon).await?;
        Ok(Response::new(convert::coupon_to_pb(coupon)))
    }

    async fn list_coupons(
        &self,
        request: Request<api::ListCouponsRequest>,
    ) -> Result<Response<api::ListCouponsResponse>, Status> {
        let user = convert::user_id(&request.get_ref().user_id)?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let coupons = store::coupons::of_user(&mut conn, user).await?;
        Ok(Response::new(api::ListCouponsResponse {
            coupons: coupons.into_iter().map(convert::coupon_to_pb).collect(),
        }))
    }

    async fn charge(
        &self,
        request: Request<api::ChargeRequest>,
    ) -> Result<Response<pb::Payment>, Status> {
        let command = convert::charge(request.get_ref())?;
        let payment = charge(&self.pool, &command).await?;
        Ok(Response::new(convert::payment_to_pb(payment)))
    }

    async fn refund(
        &self,
        request: Request<api::RefundRequest>,
    ) -> Result<Response<api::RefundResponse>, Status> {
        let command = convert::refund(request.get_ref())?;
        let response = match refund(&self.pool, &command).await? {
            RefundOutcome::Refunded(payment) => api::RefundResponse {
                refunded: true,
                payment: Some(convert::payment_to_pb(payment)),
            },
            RefundOutcome::AlreadyRefunded(payment) => api::RefundResponse {
                refunded: false,
                payment: Some(convert::payment_to_pb(payment)),
            },
            RefundOutcome::Tombstone => api::RefundResponse {
                refunded: false,
                payment: None,
            },
        };
        Ok(Response::new(response))
    }

    async fn get_payment(
        &self,
        request: Request<api::GetPaymentRequest>,
    ) -> Result<Response<pb::Payment>, Status> {
        let order = convert::order_id(&request.get_ref().order_id)?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let payment = store::payments::current_of_order(&mut conn, order)
            .await?
            .ok_or(Error::PaymentNotFound(order))?;
        Ok(Response::new(convert::payment_to_pb(payment)))
    }

    async fn list_ledger(
        &self,
        request: Request<api::ListLedgerRequest>,
    ) -> Result<Response<api::ListLedgerResponse>, Status> {
        let (user, limit) = convert::ledger_query(request.get_ref())?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let entries = store::ledger::newest(&mut conn, user, limit).await?;
        Ok(Response::new(api::ListLedgerResponse {
            entries: entries
                .into_iter()
                .map(convert::ledger_entry_to_pb)
                .collect(),
        }))
    }
}
