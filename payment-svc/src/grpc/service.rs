//! `shop.payment.v1.PaymentService`: decodes and validates each request, calls its
//! use case, converts the answer. No SQL, no pool handling: errors become statuses
//! through `From<Error>` only.

use shop_proto::{
    common as pb,
    payment::{self as api, payment_service_server::PaymentService},
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::convert;
use crate::{
    domain::RefundOutcome,
    usecase::{charge::charge, coupons, payments, refund::refund, wallets},
};

#[derive(Clone)]
pub struct PaymentApi {
    pool: PgPool,
}

impl PaymentApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn top_up(
        &self,
        request: Request<api::TopUpRequest>,
    ) -> Result<Response<pb::Wallet>, Status> {
        let top_up = convert::top_up(request.get_ref())?;
        wallets::top_up(&self.pool, &top_up).await?;
        let wallet = wallets::wallet(&self.pool, top_up.user_id).await?;
        Ok(Response::new(convert::wallet_to_pb(wallet)))
    }

    async fn get_wallet(
        &self,
        request: Request<api::GetWalletRequest>,
    ) -> Result<Response<pb::Wallet>, Status> {
        let user = convert::user_id(&request.get_ref().user_id)?;
        let wallet = wallets::wallet(&self.pool, user).await?;
        Ok(Response::new(convert::wallet_to_pb(wallet)))
    }

    async fn issue_coupon(
        &self,
        request: Request<api::IssueCouponRequest>,
    ) -> Result<Response<pb::Coupon>, Status> {
        let coupon = convert::new_coupon(request.get_ref())?;
        let coupon = coupons::issue(&self.pool, &coupon).await?;
        Ok(Response::new(convert::coupon_to_pb(coupon)))
    }

    async fn list_coupons(
        &self,
        request: Request<api::ListCouponsRequest>,
    ) -> Result<Response<api::ListCouponsResponse>, Status> {
        let user = convert::user_id(&request.get_ref().user_id)?;
        let coupons = coupons::of_user(&self.pool, user).await?;
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
        let payment = payments::of_order(&self.pool, order).await?;
        Ok(Response::new(convert::payment_to_pb(payment)))
    }

    async fn list_ledger(
        &self,
        request: Request<api::ListLedgerRequest>,
    ) -> Result<Response<api::ListLedgerResponse>, Status> {
        let (user, limit) = convert::ledger_query(request.get_ref())?;
        let entries = payments::ledger(&self.pool, user, limit).await?;
        Ok(Response::new(api::ListLedgerResponse {
            entries: entries
                .into_iter()
                .map(convert::ledger_entry_to_pb)
                .collect(),
        }))
    }
}
