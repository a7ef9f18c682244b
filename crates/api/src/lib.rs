//! kluis-api: the HTTP layer. actix-web handlers, request and response types
//! (utoipa `ToSchema` + validator), the bearer-token extractor, problem+json
//! errors, middleware, and the OpenAPI document collected from the handlers
//! themselves. Handlers are thin: the caller, its scope, `.validate()?`, one
//! call into a domain crate.

pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod methods;
pub mod metrics;
pub mod middleware;
pub mod openapi30;
pub mod pages;
pub mod routes;
pub mod state;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use state::{ApiConfig, AppState};

/// The parts of the OpenAPI document not collected from handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kluis",
        description = "Keeps people's personal data the way the GDPR asks: profiles, accounts, consents, devices, retention and a tamper-evident audit log, per tenant. No text it takes may hold the NUL character (U+0000): in a body field or a query parameter it is refused with 422 naming the field, in a path with 404.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    modifiers(&BearerScheme),
    components(schemas(error::Problem, error::ProblemField, routes::people::export::ExportFormat)),
    tags(
        (name = "tokens", description = "OAuth 2.0 client credentials and the signing keys"),
        (name = "tenants", description = "Tenants, for the platform operator"),
        (name = "clients", description = "A tenant's API clients"),
        (name = "audit", description = "The tenant's hash-chained audit log"),
        (name = "people", description = "People, their contacts and the references apps hold to them"),
        (name = "attributes", description = "The tenant's own person attributes: type, validation, data category and purposes; values live with the person"),
        (name = "auth", description = "Sign-in, challenges, e-mail verification and password reset for people"),
        (name = "accounts", description = "People's accounts, for administrators"),
        (name = "me", description = "A signed-in person's own data"),
        (name = "devices", description = "Devices people sign in from, and visit statistics"),
        (name = "consent", description = "The consent ledger: grants, withdrawals and objections, checks, the changes feed and one-click unsubscribe"),
        (name = "policies", description = "Terms, privacy and cookie policies, versioned, and people's acceptances"),
        (name = "lifecycle", description = "Legal holds, a person's export (Art. 15/20) and erasure receipts (Art. 17)"),
        (name = "register", description = "Purposes, recipients and the record of processing activities (Art. 30 GDPR)"),
        (name = "retention", description = "Retention policies and the sweeps that apply them"),
        (name = "breaches", description = "The breach register (Art. 33, 34 GDPR): the 72-hour clock, platform breaches, telling the people affected"),
        (name = "service", description = "Serviced devices: items taken in, sealed customer credentials (revealed only with a reason), customer-data backups kept until restored, notes per customer"),
        (name = "webhooks", description = "Webhook endpoints (Standard Webhooks signatures), their deliveries and replays"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /v1/oauth/token"))
                    .build(),
            ),
        );
    }
}

/// Register every route; the OpenAPI document is collected from the same calls.
pub fn routes(cfg: &mut ServiceConfig) {
    use routes::{
        accounts, attributes, audit, backups, breaches, clients, consent, devices, erasures, exports, me, meta, oauth,
        passkeys, people, policies, processing, requests, retention, service, signin, tenants, webhooks,
    };
    // actix tries the routes in this order, matching each pattern in turn:
    // the liveness probe and the hot paths (a processor's consent checks,
    // profile reads and writes, sign-ins) come first, so they do not pay for
    // a hundred pattern matches (perf: ~10 % of a check). None of the moved
    // patterns can match another route's path, so the order changes nothing
    // else. The people feed comes before `GET /v1/people/{person_id}`,
    // whose pattern its path matches.
    cfg.service(meta::live)
        .service(consent::checks::check_one)
        .service(consent::checks::check_batch)
        .service(people::changes::people_changes)
        .service(people::persons::get_person)
        .service(consent::consents::record_consent)
        .service(people::persons::create_person)
        .service(signin::login)
        .service(passkeys::passkey_sign_in_options)
        .service(passkeys::passkey_sign_in)
        .service(passkeys::start_passkey_registration)
        .service(passkeys::register_passkey)
        .service(passkeys::my_passkeys)
        .service(passkeys::rename_my_passkey)
        .service(passkeys::delete_my_passkey)
        .service(passkeys::person_passkeys)
        .service(passkeys::revoke_person_passkey)
        .service(oauth::token)
        .service(meta::ready)
        .service(meta::metrics)
        .service(meta::jwks)
        .service(tenants::create_tenant)
        .service(tenants::list_tenants)
        .service(tenants::get_tenant)
        .service(tenants::update_tenant)
        .service(tenants::delete_tenant)
        .service(clients::create_client)
        .service(clients::list_clients)
        .service(clients::get_client)
        .service(clients::update_client)
        .service(clients::delete_client)
        .service(clients::rotate_secret)
        .service(audit::list_events)
        .service(audit::verify)
        .service(people::persons::list_people)
        .service(people::persons::update_person)
        .service(people::persons::delete_person)
        .service(people::contacts::create_email)
        .service(people::contacts::list_emails)
        .service(people::contacts::update_email)
        .service(people::contacts::delete_email)
        .service(people::contacts::create_phone)
        .service(people::contacts::list_phones)
        .service(people::contacts::update_phone)
        .service(people::contacts::delete_phone)
        .service(people::contacts::create_address)
        .service(people::contacts::list_addresses)
        .service(people::contacts::update_address)
        .service(people::contacts::delete_address)
        .service(people::contacts::create_website)
        .service(people::contacts::list_websites)
        .service(people::contacts::update_website)
        .service(people::contacts::delete_website)
        .service(people::references::create_reference)
        .service(people::references::list_references)
        .service(people::references::delete_reference)
        .service(signin::answer_challenge)
        .service(signin::logout)
        .service(signin::verify_email)
        .service(signin::request_reset)
        .service(signin::confirm_reset)
        .service(accounts::create_account)
        .service(accounts::get_account)
        .service(accounts::update_account)
        .service(accounts::set_password)
        .service(accounts::reset_totp)
        .service(devices::list_devices)
        .service(devices::delete_device)
        .service(me::devices::my_devices)
        .service(me::devices::delete_my_device)
        .service(devices::record_visit)
        .service(devices::visit_stats)
        .service(me::profile::get_me)
        .service(me::profile::update_me)
        .service(me::credentials::change_password)
        .service(me::credentials::enrol_totp)
        .service(me::credentials::confirm_totp)
        .service(me::credentials::disable_totp)
        .service(me::credentials::new_recovery_codes)
        .service(me::sessions::list_sessions)
        .service(me::sessions::revoke_session)
        .service(me::consents::my_consents)
        .service(me::consents::set_my_consent)
        .service(me::contacts::me_create_email)
        .service(me::contacts::me_list_emails)
        .service(me::contacts::me_update_email)
        .service(me::contacts::me_delete_email)
        .service(me::contacts::me_create_phone)
        .service(me::contacts::me_list_phones)
        .service(me::contacts::me_update_phone)
        .service(me::contacts::me_delete_phone)
        .service(me::contacts::me_create_address)
        .service(me::contacts::me_list_addresses)
        .service(me::contacts::me_update_address)
        .service(me::contacts::me_delete_address)
        .service(me::contacts::me_create_website)
        .service(me::contacts::me_list_websites)
        .service(me::contacts::me_update_website)
        .service(me::contacts::me_delete_website)
        .service(attributes::create_attribute)
        .service(attributes::list_attributes)
        .service(attributes::attributes_schema)
        .service(attributes::get_attribute)
        .service(attributes::update_attribute)
        .service(attributes::delete_attribute)
        .service(processing::purposes::create_purpose)
        .service(processing::purposes::list_purposes)
        .service(processing::purposes::get_purpose)
        .service(processing::purposes::update_purpose)
        .service(processing::purposes::delete_purpose)
        .service(processing::recipients::create_recipient)
        .service(processing::recipients::list_recipients)
        .service(processing::recipients::get_recipient)
        .service(processing::recipients::update_recipient)
        .service(processing::recipients::delete_recipient)
        .service(processing::record::get_register)
        .service(consent::consents::list_consents)
        .service(consent::consents::consent_history)
        .service(consent::changes::changes)
        .service(consent::unsubscribe::unsubscribe_link)
        .service(consent::unsubscribe::unsubscribe_page)
        .service(consent::unsubscribe::one_click_unsubscribe)
        .service(policies::publish_policy)
        .service(policies::list_policy_versions)
        .service(policies::public_current_policy)
        .service(policies::public_policy_versions)
        .service(policies::public_policy_version)
        .service(policies::record_acceptance)
        .service(policies::list_acceptances)
        .service(people::holds::create_hold)
        .service(people::holds::list_holds)
        .service(people::holds::lift_hold)
        .service(people::export::export_person)
        .service(people::export::my_export)
        .service(me::erasure::request_my_erasure)
        .service(me::erasure::cancel_my_erasure)
        .service(erasures::list_erasures)
        .service(erasures::get_erasure)
        .service(retention::create_policy)
        .service(retention::list_policies)
        .service(retention::get_policy)
        .service(retention::update_policy)
        .service(retention::delete_policy)
        .service(retention::run_sweep)
        .service(retention::list_sweeps)
        .service(retention::get_sweep)
        .service(tenants::get_own_tenant)
        .service(tenants::update_own_tenant)
        .service(requests::create_request)
        .service(requests::list_requests)
        .service(requests::get_request)
        .service(requests::update_request)
        .service(requests::verify_request)
        .service(requests::extend_request)
        .service(requests::complete_request)
        .service(requests::refuse_request)
        .service(requests::public_request)
        .service(requests::verify_public_request)
        .service(requests::verify_public_page)
        .service(requests::verify_public_link)
        .service(requests::download_public_export)
        .service(me::requests::create_my_request)
        .service(me::requests::list_my_requests)
        .service(me::requests::get_my_request)
        .service(me::requests::download_my_export)
        .service(people::restriction::set_restriction)
        .service(people::restriction::get_restriction)
        .service(people::restriction::lift_restriction)
        .service(breaches::create_breach)
        .service(breaches::list_breaches)
        .service(breaches::get_breach)
        .service(breaches::update_breach)
        .service(breaches::notify_subjects)
        .service(breaches::create_platform_breach)
        .service(service::create_service_item)
        .service(service::list_service_items)
        .service(service::get_service_item)
        .service(service::update_service_item)
        .service(service::delete_service_item)
        .service(service::create_service_credential)
        .service(service::list_service_credentials)
        .service(service::reveal_service_credential)
        .service(service::delete_service_credential)
        .service(service::create_service_backup)
        .service(service::list_service_backups)
        .service(service::restored_service_backup)
        .service(service::create_service_note)
        .service(service::list_service_notes)
        .service(service::get_service_note)
        .service(service::update_service_note)
        .service(service::delete_service_note)
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::update_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::rotate_webhook_secret)
        .service(webhooks::list_deliveries)
        .service(webhooks::replay_delivery)
        .service(exports::start_export)
        .service(exports::get_export)
        .service(exports::download_export)
        .service(backups::get_backup_policy)
        .service(backups::update_backup_policy)
        .service(backups::create_backup)
        .service(backups::list_backups)
        .service(backups::get_backup)
        .service(backups::download_backup)
        .service(backups::delete_backup)
        .service(backups::restore_backup);
}

/// The OpenAPI document of the API (what `/openapi.json` serves and
/// `openapi/openapi.json` must equal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(routes).split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    contract::add_rules(&mut api);
    api
}

/// The same contract in OpenAPI 3.0.3 (what `/openapi-3.0.json` serves and
/// `openapi/openapi-3.0.json` must equal), for generators that read only 3.0.
pub fn openapi_3_0() -> serde_json::Value {
    as_3_0(&openapi())
}

fn as_3_0(api: &utoipa::openapi::OpenApi) -> serde_json::Value {
    openapi30::from_3_1(&serde_json::to_value(api).unwrap_or_default())
}

/// The contract as served, in both versions: built and serialised once per
/// process, on the first request for either. Built in every worker's app at
/// start (two more builds of 210 operations, one kept for Swagger UI, and
/// the serde trees of the 3.0 conversion), they took ~20 MiB of each worker
/// thread's heap, which glibc's per-thread arenas then kept: idle RSS was
/// 148 MiB, now 109 MiB (bench build), 126 MiB once the documents are served.
struct Documents {
    v3_1: String,
    v3_0: String,
}

fn documents() -> &'static Documents {
    static DOCUMENTS: std::sync::OnceLock<Documents> = std::sync::OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let api = openapi();
        Documents { v3_1: serde_json::to_string(&api).unwrap_or_default(), v3_0: as_3_0(&api).to_string() }
    })
}

async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(documents().v3_1.as_str())
}

async fn openapi_3_0_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(documents().v3_0.as_str())
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            middleware::REQUEST_ID,
        ])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER, middleware::REQUEST_ID])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// The whole app: routes, docs, errors, CORS and per-request plumbing.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // `/v1/people/changes` and `/v1/attributes/schema` answer GET only:
    // other methods must not fall through to `/v1/people/{person_id}` or
    // `/v1/attributes/{key}`, whose patterns their paths match.
    let feed_only_get =
        web::resource("/v1/people/changes").guard(actix_web::guard::Not(actix_web::guard::Get())).to(methods::unrouted);
    // Likewise `/v1/me/passkeys/registration` answers POST only, not as a
    // `/v1/me/passkeys/{passkey_id}`.
    let registration_only_post = web::resource("/v1/me/passkeys/registration")
        .guard(actix_web::guard::Not(actix_web::guard::Post()))
        .to(methods::unrouted);
    let schema_only_get = web::resource("/v1/attributes/schema")
        .guard(actix_web::guard::Not(actix_web::guard::Get()))
        .to(methods::unrouted);
    let (app, _) = App::new()
        .service(feed_only_get)
        .service(registration_only_post)
        .service(schema_only_get)
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let cors = cors(&state.config.cors_origins);
    let body_limit = state.config.body_limit;
    app.app_data(state)
        .app_data(web::PayloadConfig::new(body_limit))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/openapi-3.0.json", web::get().to(openapi_3_0_json))
        .configure(pages::centre::configure)
        .default_service(web::to(methods::unrouted))
        .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
        .wrap(actix_web::middleware::from_fn(auth::authorize))
        .wrap(cors)
        .wrap(actix_web::middleware::from_fn(middleware::observe))
}
