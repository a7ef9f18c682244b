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
        require_staff_totp -> Bool,
        device_step_up -> Bool,
        unverified_device -> Text,
        self_erasure_grace_seconds -> BigInt,
        max_retention -> Nullable<Text>,
        privacy_contact_email -> Nullable<Text>,
        requests_via_tenant_only -> Bool,
        time_zone -> Text,
        verify_email_url -> Nullable<Text>,
        reset_password_url -> Nullable<Text>,
        passkey_rp_id -> Nullable<Text>,
        passkey_origins -> Nullable<Text>,
        privacy_centre -> Bool,
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

diesel::table! {
    audit_heads (tenant_id) {
        tenant_id -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_events (tenant_id, seq) {
        tenant_id -> Text,
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Text,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        subject_ref -> Nullable<Text>,
        fields -> Text,
        purpose -> Nullable<Text>,
        request_id -> Nullable<Text>,
        ip_prefix -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    subject_keys (tenant_id, person_id) {
        tenant_id -> Text,
        person_id -> Text,
        key -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    people (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        salutation -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        nickname -> Nullable<Text>,
        date_of_birth -> Nullable<Text>,
        language -> Nullable<Text>,
        company_name -> Nullable<Text>,
        coc_number -> Nullable<Text>,
        vat_number -> Nullable<Text>,
        first_name_key -> Nullable<Text>,
        last_name_key -> Nullable<Text>,
        full_name_key -> Nullable<Text>,
        company_key -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_emails (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        address -> Text,
        address_key -> Text,
        label -> Text,
        is_primary -> Bool,
        verified_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_phones (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        number -> Text,
        label -> Text,
        is_primary -> Bool,
        verified_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_addresses (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        street -> Nullable<Text>,
        house_number -> Nullable<Text>,
        addition -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        region -> Nullable<Text>,
        country -> Text,
        label -> Text,
        is_primary -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_websites (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        url -> Text,
        label -> Text,
        is_primary -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_references (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        client_id -> Text,
        app -> Text,
        external_ref -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, caller_id, key) {
        tenant_id -> Text,
        caller_id -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Nullable<Integer>,
        headers -> Nullable<Text>,
        body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (tenant_id, person_id) {
        tenant_id -> Text,
        person_id -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        status -> Text,
        must_change_password -> Bool,
        staff_scopes -> Text,
        totp_seed -> Nullable<Binary>,
        totp_enabled -> Bool,
        totp_last_step -> Nullable<BigInt>,
        failed_count -> BigInt,
        failed_window_start -> Nullable<Timestamp>,
        password_changed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (tenant_id, person_id, code_hash) {
        tenant_id -> Text,
        person_id -> Text,
        code_hash -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    auth_tokens (tenant_id, token_hash) {
        tenant_id -> Text,
        token_hash -> Binary,
        person_id -> Text,
        purpose -> Text,
        email_id -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    challenges (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        kind -> Text,
        tries -> BigInt,
        code_hash -> Nullable<Binary>,
        pending_device -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        ip_prefix -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        device_id -> Nullable<Text>,
        passkey_id -> Nullable<Text>,
    }
}

diesel::table! {
    passkeys (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        name -> Text,
        credential_id -> Text,
        user_handle -> Text,
        credential -> Text,
        aaguid -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkey_ceremonies (tenant_id, challenge_hash) {
        tenant_id -> Text,
        challenge_hash -> Binary,
        kind -> Text,
        person_id -> Nullable<Text>,
        state -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (tenant_id, token_hash) {
        tenant_id -> Text,
        token_hash -> Binary,
        session_id -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Nullable<Text>,
        channel -> Text,
        payload -> Binary,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    devices (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        key_hash -> Binary,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        client_hints -> Nullable<Text>,
        screen_width -> Nullable<BigInt>,
        screen_height -> Nullable<BigInt>,
        language -> Nullable<Text>,
        browser -> Nullable<Text>,
        browser_version -> Nullable<Text>,
        os -> Nullable<Text>,
        os_version -> Nullable<Text>,
        device_type -> Text,
        vendor -> Nullable<Text>,
        model -> Nullable<Text>,
        first_seen_at -> Timestamp,
        last_login_at -> Timestamp,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    visits (tenant_id, day, path, ip_prefix, ua_family) {
        tenant_id -> Text,
        day -> Text,
        path -> Text,
        ip_prefix -> Text,
        ua_family -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    consent_heads (tenant_id) {
        tenant_id -> Text,
        seq -> BigInt,
        unsubscribe_key -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consent_recipients (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        role -> Text,
        country -> Text,
        in_eea -> Bool,
        transfer_mechanism -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consent_purposes (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        name -> Text,
        description -> Text,
        legal_basis -> Text,
        data_categories -> Text,
        retention -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        gpc -> Bool,
    }
}

diesel::table! {
    consent_purpose_recipients (tenant_id, purpose_key, recipient_id) {
        tenant_id -> Text,
        purpose_key -> Text,
        recipient_id -> Text,
    }
}

diesel::table! {
    people_change_heads (tenant_id) {
        tenant_id -> Text,
        seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    people_changes (tenant_id, seq) {
        tenant_id -> Text,
        seq -> BigInt,
        id -> Text,
        person_id -> Nullable<Text>,
        erased_id -> Nullable<Text>,
        kind -> Text,
        fields -> Text,
        purposes -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    consent_events (tenant_id, seq) {
        tenant_id -> Text,
        seq -> BigInt,
        id -> Text,
        person_id -> Text,
        purpose -> Text,
        action -> Text,
        source -> Text,
        policy_version -> Nullable<BigInt>,
        ip_prefix -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Text,
        occurred_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    consent_states (tenant_id, person_id, purpose) {
        tenant_id -> Text,
        person_id -> Text,
        purpose -> Text,
        action -> Text,
        decided_at -> Timestamp,
        decided_seq -> BigInt,
        expires_at -> Nullable<Timestamp>,
        objected_at -> Nullable<Timestamp>,
        lifted_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consent_policy_versions (tenant_id, kind, version) {
        tenant_id -> Text,
        kind -> Text,
        version -> BigInt,
        title -> Text,
        body -> Text,
        material -> Bool,
        published_at -> Timestamp,
    }
}

diesel::table! {
    consent_acceptances (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        kind -> Text,
        version -> BigInt,
        source -> Text,
        ip_prefix -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        accepted_at -> Timestamp,
    }
}

diesel::table! {
    consent_unsubscribes (tenant_id, token_hash) {
        tenant_id -> Text,
        token_hash -> Binary,
        person_id -> Text,
        purpose -> Text,
        expires_at -> Timestamp,
        used_at -> Timestamp,
    }
}

diesel::table! {
    consent_usage (tenant_id, day, client_id, kind) {
        tenant_id -> Text,
        day -> Text,
        client_id -> Text,
        kind -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    person_holds (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        reason -> Text,
        ends_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    retention_heads (tenant_id) {
        tenant_id -> Text,
        seeded_at -> Timestamp,
        lease_holder -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    retention_policies (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        category -> Nullable<Text>,
        purpose -> Nullable<Text>,
        period -> Nullable<Text>,
        start -> Text,
        action -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    self_erasures (tenant_id, person_id) {
        tenant_id -> Text,
        person_id -> Text,
        requested_at -> Timestamp,
        due_at -> Timestamp,
    }
}

diesel::table! {
    erasure_keys (tenant_id) {
        tenant_id -> Text,
        key -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    erasure_receipts (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        subject_ref -> Text,
        reason -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        removed -> Text,
        notify -> Text,
        erased_at -> Timestamp,
    }
}

diesel::table! {
    erasure_ledger (tenant_id, subject_hash) {
        tenant_id -> Text,
        subject_hash -> Text,
        erased_at -> Timestamp,
    }
}

diesel::table! {
    retention_sweeps (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        trigger -> Text,
        actor_id -> Text,
        dry_run -> Bool,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        duration_ms -> BigInt,
        total -> BigInt,
        report -> Text,
    }
}

diesel::table! {
    rights_requests (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Nullable<Text>,
        email -> Nullable<Text>,
        kind -> Text,
        channel -> Text,
        state -> Text,
        details -> Nullable<Text>,
        purposes -> Nullable<Text>,
        received_at -> Timestamp,
        due_on -> Text,
        due_at -> Timestamp,
        extension_reason -> Nullable<Text>,
        extended_at -> Nullable<Timestamp>,
        verified_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        refusal_reason -> Nullable<Text>,
        refusal_text -> Nullable<Text>,
        outcome -> Nullable<Text>,
        token_hash -> Nullable<Text>,
        token_expires_at -> Nullable<Timestamp>,
        download_hash -> Nullable<Text>,
        download_expires_at -> Nullable<Timestamp>,
        downloaded_at -> Nullable<Timestamp>,
        reminded_due_soon_at -> Nullable<Timestamp>,
        reminded_overdue_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rights_request_events (tenant_id, request_id, seq) {
        tenant_id -> Text,
        request_id -> Text,
        seq -> BigInt,
        action -> Text,
        state -> Text,
        actor_kind -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    person_restrictions (tenant_id, person_id) {
        tenant_id -> Text,
        person_id -> Text,
        reason -> Text,
        request_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    breaches (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        source -> Text,
        platform_ref -> Nullable<Text>,
        detected_at -> Timestamp,
        description -> Text,
        data_categories -> Text,
        people_affected -> Nullable<BigInt>,
        records_affected -> Nullable<BigInt>,
        consequences -> Nullable<Text>,
        measures -> Nullable<Text>,
        risk -> Text,
        authority_due_at -> Timestamp,
        reported_to_authority_at -> Nullable<Timestamp>,
        authority_reference -> Nullable<Text>,
        no_report_reason -> Nullable<Text>,
        subjects_notified_at -> Nullable<Timestamp>,
        subjects_notified -> BigInt,
        status -> Text,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    breach_notifications (tenant_id, breach_id, person_id) {
        tenant_id -> Text,
        breach_id -> Text,
        person_id -> Text,
        notified_at -> Timestamp,
    }
}

diesel::table! {
    tenant_exports (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        state -> Text,
        key_kind -> Text,
        actor_id -> Text,
        tables_total -> BigInt,
        tables_done -> BigInt,
        rows_total -> BigInt,
        rows_done -> BigInt,
        bytes -> BigInt,
        manifest -> Nullable<Text>,
        error -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    service_items (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        kind -> Text,
        make -> Nullable<Text>,
        model -> Nullable<Text>,
        serial -> Nullable<Text>,
        request -> Text,
        status -> Text,
        received_at -> Timestamp,
        ready_at -> Nullable<Timestamp>,
        returned_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_credentials (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        item_id -> Text,
        person_id -> Text,
        kind -> Text,
        label -> Text,
        login -> Text,
        secret -> Binary,
        revealed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_backups (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        item_id -> Text,
        person_id -> Text,
        location -> Text,
        size_bytes -> Nullable<BigInt>,
        checksum -> Nullable<Text>,
        encrypted -> Bool,
        made_at -> Timestamp,
        restored_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_notes (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        kind -> Text,
        category -> Text,
        title -> Text,
        body -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attribute_definitions (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        value_type -> Text,
        description -> Nullable<Text>,
        category -> Text,
        purposes -> Text,
        rules -> Text,
        self_editable -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_attributes (tenant_id, person_id, key) {
        tenant_id -> Text,
        person_id -> Text,
        key -> Text,
        value -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(api_clients -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    passkeys,
    passkey_ceremonies,
    operator_clients,
    api_clients,
    signing_keys,
    audit_heads,
    audit_events,
    subject_keys,
    people,
    person_emails,
    person_phones,
    person_addresses,
    person_websites,
    person_references,
    attribute_definitions,
    person_attributes,
    idempotency_keys,
    accounts,
    recovery_codes,
    auth_tokens,
    challenges,
    sessions,
    refresh_tokens,
    outbox,
    devices,
    visits,
    consent_heads,
    consent_recipients,
    consent_purposes,
    consent_purpose_recipients,
    consent_events,
    consent_states,
    consent_policy_versions,
    consent_acceptances,
    consent_unsubscribes,
    consent_usage,
    person_holds,
    self_erasures,
    rights_requests,
    rights_request_events,
    person_restrictions,
    breaches,
    breach_notifications,
    erasure_keys,
    erasure_receipts,
    erasure_ledger,
    retention_heads,
    retention_policies,
    retention_sweeps,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    tenant_exports,
    tenant_backups,
    backup_schedules,
    people_change_heads,
    people_changes,
    service_items,
    service_credentials,
    service_backups,
    service_notes,
);

diesel::table! {
    tenant_backups (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        state -> Text,
        origin -> Text,
        actor_id -> Text,
        storage -> Text,
        object_key -> Text,
        bytes -> BigInt,
        manifest -> Nullable<Text>,
        error -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backup_schedules (tenant_id) {
        tenant_id -> Text,
        keep_daily -> BigInt,
        keep_weekly -> BigInt,
        keep_monthly -> BigInt,
        last_run_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        client_id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Text,
        purposes -> Text,
        secret -> Binary,
        previous_secret -> Nullable<Binary>,
        previous_secret_until -> Nullable<Timestamp>,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        person_id -> Nullable<Text>,
        erasure_id -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Nullable<Timestamp>,
        lease_holder -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        response_status -> Nullable<Integer>,
        latency_ms -> Nullable<BigInt>,
        response_body -> Nullable<Text>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        delivery_id -> Text,
        scheduled_at -> Timestamp,
        attempted_at -> Timestamp,
        response_status -> Nullable<Integer>,
        latency_ms -> BigInt,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}
