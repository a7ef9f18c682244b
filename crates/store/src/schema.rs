//! The diesel schema, one for both backends: only types both map the same.

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    operator_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Binary,
        tokens_valid_after -> Timestamp,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_clients (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        scopes -> Text,
        purposes -> Text,
        secret_hash -> Binary,
        tokens_valid_after -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Text,
        algorithm -> Text,
        public_key -> Binary,
        private_key -> Binary,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_clients -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(tenants, operator_clients, api_clients, signing_keys);
