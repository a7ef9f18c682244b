// The kluis privacy centre: a small client of kluis's public API, as any
// SPA would be. No framework, nothing from elsewhere; every text from the
// server is put in the page as text (textContent), never as markup.
"use strict";

(() => {
  const body = document.body;
  const slug = body.dataset.tenant;
  // The API lives at the root this page is two levels under (/privacy/{slug}/).
  const root = new URL("../../", window.location.href);
  const tokenKey = `kluis.centre.${slug}`;
  const deviceKey = `kluis.device.${slug}`;

  const TEXT = {
    en: {
      skip: "Skip to the content", title: "Privacy centre", sign_out: "Sign out",
      sign_in_title: "Sign in", sign_in: "Sign in",
      sign_in_intro: "Sign in with your account to see what we keep about you, and to change, download or erase it.",
      identifier: "E-mail address or username", password: "Password", forgot: "Forgot your password?",
      challenge_title: "One more step", continue: "Continue", cancel: "Cancel",
      challenge_totp: "Enter the code from your authenticator app, or one of your recovery codes.",
      challenge_totp_label: "Code",
      challenge_email: "We do not know this device yet. We e-mailed you a code: enter it to go on.",
      challenge_email_label: "Code from the e-mail",
      challenge_password: "You must choose a new password before you go on.",
      challenge_password_label: "New password (at least 8 characters)",
      forgot_title: "Reset your password", email: "E-mail address", send_link: "Send the link", back: "Back to sign in",
      forgot_intro: "We mail a link to reset your password to this address, if it belongs to an account.",
      forgot_sent: "If the address belongs to an account, a link is on its way. Check your e-mail.",
      reset_title: "Choose a new password", new_password: "New password (at least 8 characters)",
      save_password: "Save the password", reset_done: "Your password is changed. You can sign in with it now.",
      verify_done: "Your e-mail address is verified. Thank you.",
      sections: "Sections", profile_title: "Your details", first_name: "First name", last_name: "Last name",
      nickname: "Nickname", language: "Language", language_none: "Not set", save: "Save", saved: "Saved.",
      emails_title: "E-mail addresses", phones_title: "Phone numbers", add_email: "Add an e-mail address",
      add_phone: "Add a phone number (international, e.g. +31612345678)", add: "Add", remove: "Remove",
      added: "Added.", removed: "Removed.", primary: "primary", verified: "verified", not_verified: "not verified",
      consents_title: "Your consents",
      consents_intro: "What we use your data for, on which basis, and what you said about it. You can change it at any time.",
      basis: "Basis", your_choice: "Your choice",
      basis_consent: "your consent", basis_contract: "our agreement with you", basis_legal_obligation: "a legal obligation",
      basis_vital_interests: "vital interests", basis_public_task: "a public task",
      basis_legitimate_interests: "our legitimate interest",
      status_granted: "you gave consent", status_expired: "your consent expired", status_withdrawn: "you withdrew consent",
      status_objected: "you objected", status_none: "nothing yet", allowed: "in use", not_allowed: "not in use",
      restricted: "Your data is restricted: we do not use it for anything until the restriction is lifted.",
      grant: "Give consent", withdraw: "Withdraw consent", object: "Object", lift_objection: "Withdraw my objection",
      consent_saved: "Your choice is saved.",
      devices_title: "Devices and sessions", sessions_title: "Where you are signed in",
      device_list_title: "Devices you signed in from", this_session: "this session", end_session: "End this session",
      session_ended: "The session is ended.", started: "started", last_used: "last used", last_sign_in: "last sign-in",
      device_removed: "The device is removed: signing in from it asks for a code again.", unknown_device: "Unknown device",
      policies_title: "Our policies", policy_privacy: "Privacy statement", policy_terms: "Terms",
      policy_cookies: "Cookie policy", version: "version", published: "published", earlier: "Earlier versions",
      no_policies: "No policies are published yet.", show: "Show",
      data_title: "Your data and your rights", export_title: "Download your data",
      export_intro: "Everything we keep about you, as a file you can read or take elsewhere.",
      export_json: "Download my data (JSON)", export_zip: "Download as ZIP (CSV files)",
      export_done: "Your data is downloaded.",
      requests_title: "Your requests",
      requests_intro: "Ask us to correct, restrict or hand over your data, or object to how we use it. We answer within a month.",
      request_kind: "What do you ask?", request_details: "Details (optional)", send_request: "Send the request",
      kind_access: "A copy of my data (access)", kind_rectification: "Correct my data",
      kind_restriction: "Stop using my data for now (restriction)", kind_objection: "I object to how my data is used",
      kind_portability: "My data for another organisation (portability)", kind_erasure: "Erase my data",
      request_sent: "Your request is received. We answer by {due}.", no_requests: "You made no requests.",
      received: "received", due: "answer by",
      state_received: "received", state_verified: "verified", state_in_progress: "in progress",
      state_extended: "extended", state_completed: "completed", state_refused: "refused",
      erase_title: "Erase your account", erase: "Erase my account…",
      erase_intro: "We erase your account and everything we keep about you, except what the law makes us keep. This cannot be undone.",
      erase_sure: "Are you sure? Your account and your data will be erased.", erase_yes: "Yes, erase my account",
      erase_no: "No, keep it", erase_pending: "Your account will be erased on {when}. Until then you can cancel it.",
      erase_cancel: "Cancel the erasure", erase_cancelled: "The erasure is cancelled: nothing is erased.",
      erased_title: "Your account is erased", erased_text: "We erased your account and your data. Receipt: {id}.",
      signed_out: "You are signed out.", session_over: "Your session ended: please sign in again.",
      failed: "That did not work.", offline: "kluis cannot be reached. Try again in a moment.",
    },
    nl: {
      skip: "Naar de inhoud", title: "Privacycentrum", sign_out: "Uitloggen",
      sign_in_title: "Inloggen", sign_in: "Inloggen",
      sign_in_intro: "Log in met je account om te zien wat we over je bewaren, en om het te wijzigen, te downloaden of te wissen.",
      identifier: "E-mailadres of gebruikersnaam", password: "Wachtwoord", forgot: "Wachtwoord vergeten?",
      challenge_title: "Nog één stap", continue: "Verder", cancel: "Annuleren",
      challenge_totp: "Vul de code uit je authenticator-app in, of een van je herstelcodes.",
      challenge_totp_label: "Code",
      challenge_email: "We kennen dit apparaat nog niet. We hebben je een code gemaild: vul die in om verder te gaan.",
      challenge_email_label: "Code uit de e-mail",
      challenge_password: "Kies eerst een nieuw wachtwoord.",
      challenge_password_label: "Nieuw wachtwoord (minstens 8 tekens)",
      forgot_title: "Wachtwoord opnieuw instellen", email: "E-mailadres", send_link: "Stuur de link",
      back: "Terug naar inloggen",
      forgot_intro: "We mailen een link om je wachtwoord opnieuw in te stellen naar dit adres, als het bij een account hoort.",
      forgot_sent: "Als het adres bij een account hoort, is er een link onderweg. Kijk in je e-mail.",
      reset_title: "Kies een nieuw wachtwoord", new_password: "Nieuw wachtwoord (minstens 8 tekens)",
      save_password: "Wachtwoord opslaan", reset_done: "Je wachtwoord is gewijzigd. Je kunt er nu mee inloggen.",
      verify_done: "Je e-mailadres is bevestigd. Dank je wel.",
      sections: "Onderdelen", profile_title: "Je gegevens", first_name: "Voornaam", last_name: "Achternaam",
      nickname: "Roepnaam", language: "Taal", language_none: "Niet ingesteld", save: "Opslaan", saved: "Opgeslagen.",
      emails_title: "E-mailadressen", phones_title: "Telefoonnummers", add_email: "E-mailadres toevoegen",
      add_phone: "Telefoonnummer toevoegen (internationaal, bijv. +31612345678)", add: "Toevoegen", remove: "Verwijderen",
      added: "Toegevoegd.", removed: "Verwijderd.", primary: "hoofdadres", verified: "bevestigd",
      not_verified: "niet bevestigd",
      consents_title: "Je toestemmingen",
      consents_intro: "Waarvoor we je gegevens gebruiken, op welke grond, en wat jij daarover zei. Je kunt het altijd wijzigen.",
      basis: "Grondslag", your_choice: "Jouw keuze",
      basis_consent: "jouw toestemming", basis_contract: "onze overeenkomst met jou",
      basis_legal_obligation: "een wettelijke plicht", basis_vital_interests: "vitale belangen",
      basis_public_task: "een publieke taak", basis_legitimate_interests: "ons gerechtvaardigd belang",
      status_granted: "je gaf toestemming", status_expired: "je toestemming is verlopen",
      status_withdrawn: "je trok je toestemming in", status_objected: "je maakte bezwaar", status_none: "nog niets",
      allowed: "in gebruik", not_allowed: "niet in gebruik",
      restricted: "Je gegevens zijn beperkt: we gebruiken ze nergens voor totdat de beperking is opgeheven.",
      grant: "Toestemming geven", withdraw: "Toestemming intrekken", object: "Bezwaar maken",
      lift_objection: "Mijn bezwaar intrekken", consent_saved: "Je keuze is opgeslagen.",
      devices_title: "Apparaten en sessies", sessions_title: "Waar je bent ingelogd",
      device_list_title: "Apparaten waarmee je inlogde", this_session: "deze sessie", end_session: "Sessie beëindigen",
      session_ended: "De sessie is beëindigd.", started: "gestart", last_used: "laatst gebruikt",
      last_sign_in: "laatst ingelogd",
      device_removed: "Het apparaat is verwijderd: inloggen ermee vraagt weer om een code.",
      unknown_device: "Onbekend apparaat",
      policies_title: "Onze voorwaarden", policy_privacy: "Privacyverklaring", policy_terms: "Voorwaarden",
      policy_cookies: "Cookiebeleid", version: "versie", published: "gepubliceerd", earlier: "Eerdere versies",
      no_policies: "Er zijn nog geen voorwaarden gepubliceerd.", show: "Toon",
      data_title: "Je gegevens en je rechten", export_title: "Je gegevens downloaden",
      export_intro: "Alles wat we over je bewaren, als bestand dat je kunt lezen of meenemen.",
      export_json: "Mijn gegevens downloaden (JSON)", export_zip: "Als ZIP downloaden (CSV-bestanden)",
      export_done: "Je gegevens zijn gedownload.",
      requests_title: "Je verzoeken",
      requests_intro: "Vraag ons je gegevens te verbeteren, te beperken of over te dragen, of maak bezwaar tegen het gebruik. We antwoorden binnen een maand.",
      request_kind: "Wat vraag je?", request_details: "Toelichting (niet verplicht)", send_request: "Verzoek versturen",
      kind_access: "Een kopie van mijn gegevens (inzage)", kind_rectification: "Mijn gegevens verbeteren",
      kind_restriction: "Mijn gegevens voorlopig niet gebruiken (beperking)",
      kind_objection: "Ik maak bezwaar tegen het gebruik van mijn gegevens",
      kind_portability: "Mijn gegevens voor een andere organisatie (overdraagbaarheid)",
      kind_erasure: "Mijn gegevens wissen",
      request_sent: "Je verzoek is ontvangen. We antwoorden uiterlijk {due}.", no_requests: "Je hebt geen verzoeken gedaan.",
      received: "ontvangen", due: "antwoord uiterlijk",
      state_received: "ontvangen", state_verified: "bevestigd", state_in_progress: "in behandeling",
      state_extended: "verlengd", state_completed: "afgehandeld", state_refused: "geweigerd",
      erase_title: "Je account wissen", erase: "Mijn account wissen…",
      erase_intro: "We wissen je account en alles wat we over je bewaren, behalve wat we wettelijk moeten bewaren. Dit kan niet ongedaan worden gemaakt.",
      erase_sure: "Weet je het zeker? Je account en je gegevens worden gewist.", erase_yes: "Ja, wis mijn account",
      erase_no: "Nee, behouden",
      erase_pending: "Je account wordt gewist op {when}. Tot dan kun je dat annuleren.",
      erase_cancel: "Wissen annuleren", erase_cancelled: "Het wissen is geannuleerd: er wordt niets gewist.",
      erased_title: "Je account is gewist", erased_text: "We hebben je account en je gegevens gewist. Bewijs: {id}.",
      signed_out: "Je bent uitgelogd.", session_over: "Je sessie is verlopen: log opnieuw in.",
      failed: "Dat lukte niet.", offline: "kluis is niet bereikbaar. Probeer het zo nog eens.",
    },
  };

  const lang = (navigator.languages || [navigator.language || "en"])
    .map((tag) => String(tag).toLowerCase().split("-")[0])
    .find((tag) => tag === "nl" || tag === "en") || "en";
  const t = (key, vars = {}) =>
    (TEXT[lang][key] || TEXT.en[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  const when = (iso) =>
    iso ? new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "";
  const day = (date) =>
    date ? new Intl.DateTimeFormat(lang, { dateStyle: "long" }).format(new Date(`${date}T12:00:00`)) : "";

  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "on") node.addEventListener("click", value);
      else if (key.startsWith("aria-") || key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  };

  // ---- messages ----------------------------------------------------------

  const say = (text) => {
    $("alert").replaceChildren();
    $("status").textContent = text;
  };
  const complain = (text, fields = []) => {
    $("status").textContent = "";
    const list = fields.length ? el("ul", {}, ...fields.map((f) => el("li", {}, `${f.field}: ${f.message}`))) : null;
    $("alert").replaceChildren(el("p", {}, text), ...(list ? [list] : []));
  };
  const problem = async (response) => {
    let detail = t("failed");
    let fields = [];
    try {
      const p = await response.json();
      detail = p.detail || p.error_description || p.title || detail;
      fields = Array.isArray(p.errors) ? p.errors : [];
    } catch (_) {
      // not JSON: keep the general message
    }
    complain(detail, fields);
  };

  // ---- the API -----------------------------------------------------------

  let session = JSON.parse(sessionStorage.getItem(tokenKey) || "null");
  const keep = (tokens) => {
    session = { access: tokens.access_token, refresh: tokens.refresh_token };
    sessionStorage.setItem(tokenKey, JSON.stringify(session));
    if (tokens.device_key) localStorage.setItem(deviceKey, tokens.device_key);
  };
  const forget = () => {
    session = null;
    sessionStorage.removeItem(tokenKey);
  };

  async function refresh() {
    if (!session || !session.refresh) return false;
    const response = await fetch(new URL("v1/oauth/token", root), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: session.refresh }),
      credentials: "omit",
    });
    if (!response.ok) return false;
    keep(await response.json());
    return true;
  }

  async function api(method, path, body, headers = {}, retried = false) {
    const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit", cache: "no-store" };
    if (session) init.headers.Authorization = `Bearer ${session.access}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(new URL(path, root), init);
    } catch (_) {
      complain(t("offline"));
      throw new Error("offline");
    }
    if (response.status === 401 && session && !retried) {
      if (await refresh()) return api(method, path, body, headers, true);
      forget();
      show("sign-in");
      complain(t("session_over"));
      throw new Error("signed out");
    }
    return response;
  }
  const json = async (path) => {
    const response = await api("GET", path);
    if (!response.ok) {
      await problem(response);
      throw new Error(path);
    }
    return response.json();
  };
  const etag = (version) => ({ "If-Match": `"${version}"` });

  // ---- views -------------------------------------------------------------

  const VIEWS = ["sign-in", "challenge", "forgot-view", "reset-view", "account", "done"];
  function show(view) {
    for (const id of VIEWS) $(id).hidden = id !== view;
    $("sign-out").hidden = view !== "account";
    const heading = view === "account" ? $("profile-title") : $(view).querySelector("h2");
    if (heading) heading.focus();
  }

  function busy(button, work) {
    return async (event) => {
      if (event) event.preventDefault();
      button.disabled = true;
      try {
        await work();
      } catch (_) {
        // already told the person
      } finally {
        button.disabled = false;
      }
    };
  }

  // ---- signing in --------------------------------------------------------

  const device = () => {
    const d = { language: navigator.language, screen: { width: window.screen.width, height: window.screen.height } };
    const key = localStorage.getItem(deviceKey);
    if (key) d.key = key;
    return d;
  };

  let challenge = null;
  async function started(response) {
    if (response.status === 200) {
      keep(await response.json());
      challenge = null;
      $("sign-in-form").reset();
      await load();
      show("account");
      say("");
    } else if (response.status === 202) {
      challenge = await response.json();
      const kinds = {
        totp: ["challenge_totp", "challenge_totp_label", "text", "one-time-code"],
        email_code: ["challenge_email", "challenge_email_label", "text", "one-time-code"],
        password_change: ["challenge_password", "challenge_password_label", "password", "new-password"],
      };
      const [intro, label, type, autocomplete] = kinds[challenge.kind] || kinds.totp;
      $("challenge-intro").textContent = t(intro);
      $("challenge-label").textContent = t(label);
      const answer = $("challenge-answer");
      answer.value = "";
      answer.type = type;
      answer.autocomplete = autocomplete;
      answer.inputMode = type === "text" ? "text" : "";
      show("challenge");
      say("");
      answer.focus();
    } else {
      await problem(response);
    }
  }

  const signInForm = $("sign-in-form");
  signInForm.addEventListener(
    "submit",
    busy(signInForm.querySelector("button[type=submit]"), async () => {
      const response = await api("POST", "v1/auth/login", {
        tenant: slug,
        identifier: $("identifier").value.trim(),
        password: $("password").value,
        device: device(),
      });
      $("password").value = "";
      await started(response);
    }),
  );

  const challengeForm = $("challenge-form");
  challengeForm.addEventListener(
    "submit",
    busy(challengeForm.querySelector("button[type=submit]"), async () => {
      const value = $("challenge-answer").value;
      const answer = challenge.kind === "password_change" ? { new_password: value } : { code: value.trim() };
      const response = await api("POST", `v1/auth/challenges/${encodeURIComponent(challenge.challenge_id)}`, answer);
      await started(response);
    }),
  );
  $("challenge-cancel").addEventListener("click", () => {
    challenge = null;
    show("sign-in");
  });

  $("forgot").addEventListener("click", () => show("forgot-view"));
  for (const back of document.querySelectorAll("[data-back]")) back.addEventListener("click", () => show("sign-in"));
  const forgotForm = $("forgot-form");
  forgotForm.addEventListener(
    "submit",
    busy(forgotForm.querySelector("button[type=submit]"), async () => {
      const response = await api("POST", "v1/auth/password-reset", { tenant: slug, email: $("forgot-email").value.trim() });
      if (!response.ok) return problem(response);
      show("sign-in");
      say(t("forgot_sent"));
    }),
  );

  let resetToken = null;
  const resetForm = $("reset-form");
  resetForm.addEventListener(
    "submit",
    busy(resetForm.querySelector("button[type=submit]"), async () => {
      const response = await api("POST", "v1/auth/password-reset/confirm", {
        token: resetToken,
        new_password: $("new-password").value,
      });
      if (!response.ok) return problem(response);
      resetToken = null;
      resetForm.reset();
      show("sign-in");
      say(t("reset_done"));
    }),
  );

  $("sign-out").addEventListener(
    "click",
    busy($("sign-out"), async () => {
      await api("POST", "v1/auth/logout").catch(() => null);
      forget();
      show("sign-in");
      say(t("signed_out"));
    }),
  );

  // ---- the account -------------------------------------------------------

  let me = null;
  async function load() {
    await Promise.all([loadMe(), loadConsents(), loadDevices(), loadPolicies(), loadRequests()]);
  }

  async function loadMe() {
    me = await json("v1/me");
    for (const field of ["first_name", "last_name", "nickname"]) $(field).value = me[field] || "";
    const language = (me.language || "").toLowerCase().split("-")[0];
    $("language").value = ["nl", "en"].includes(language) ? language : "";
    contactList("emails", me.emails, "address", "v1/me/emails");
    contactList("phones", me.phones, "number", "v1/me/phones");
  }

  function contactList(id, items, field, path) {
    $(id).replaceChildren(
      ...items.map((contact) => {
        const notes = [contact.primary ? t("primary") : null, contact.verified_at ? t("verified") : t("not_verified")];
        const remove = el("button", { type: "button", class: "secondary", textContent: t("remove") });
        remove.setAttribute("aria-label", `${t("remove")}: ${contact[field]}`);
        remove.addEventListener(
          "click",
          busy(remove, async () => {
            const response = await api("DELETE", `${path}/${encodeURIComponent(contact.id)}`, undefined, etag(contact.version));
            if (!response.ok) return problem(response);
            await loadMe();
            say(t("removed"));
          }),
        );
        return el("li", {}, el("span", {}, contact[field]), " ", el("span", { class: "muted" }, `(${notes.filter(Boolean).join(", ")})`), el("br"), remove);
      }),
    );
  }

  const profileForm = $("profile-form");
  profileForm.addEventListener(
    "submit",
    busy(profileForm.querySelector("button[type=submit]"), async () => {
      const change = {};
      for (const field of ["first_name", "last_name", "nickname", "language"]) {
        const value = $(field).value.trim();
        change[field] = value === "" ? null : value;
      }
      const response = await api("PATCH", "v1/me", change, etag(me.version));
      if (!response.ok) return problem(response);
      await loadMe();
      say(t("saved"));
    }),
  );

  function addForm(formId, inputId, path, bodyOf) {
    const form = $(formId);
    form.addEventListener(
      "submit",
      busy(form.querySelector("button[type=submit]"), async () => {
        const response = await api("POST", path, bodyOf($(inputId).value.trim()));
        if (!response.ok) return problem(response);
        form.reset();
        await loadMe();
        say(t("added"));
      }),
    );
  }
  addForm("email-form", "new-email", "v1/me/emails", (address) => ({ address, label: "private" }));
  addForm("phone-form", "new-phone", "v1/me/phones", (number) => ({ number, label: "private" }));

  // ---- consents ----------------------------------------------------------

  let privacyVersion = null;
  async function loadConsents() {
    const standing = await json("v1/me/consents");
    $("consent-list").replaceChildren(
      ...standing.items.map((s) => {
        const actions = [];
        if (s.legal_basis === "consent") {
          actions.push(s.status === "granted" ? ["withdraw", "withdraw", "secondary"] : ["grant", "grant", ""]);
        } else if (s.legal_basis === "legitimate_interests" || s.legal_basis === "public_task") {
          actions.push(s.status === "objected" ? ["grant", "lift_objection", "secondary"] : ["object", "object", "secondary"]);
        }
        const buttons = actions.map(([action, label, style]) => {
          const button = el("button", { type: "button", class: style, textContent: t(label) });
          button.setAttribute("aria-label", `${t(label)}: ${s.name}`);
          button.addEventListener(
            "click",
            busy(button, async () => {
              const choice = { action };
              if (privacyVersion) choice.policy_version = privacyVersion;
              const response = await api("PUT", `v1/me/consents/${encodeURIComponent(s.purpose)}`, choice);
              if (!response.ok) return problem(response);
              await loadConsents();
              say(t("consent_saved"));
            }),
          );
          return button;
        });
        return el(
          "li",
          { "data-purpose": s.purpose },
          el("h3", {}, s.name, el("span", { class: `badge ${s.allowed ? "on" : "off"}` }, s.allowed ? t("allowed") : t("not_allowed"))),
          el("p", {}, s.description),
          el("p", { class: "muted" }, `${t("basis")}: ${t(`basis_${s.legal_basis}`)}. ${t("your_choice")}: `, el("span", { class: "choice" }, t(`status_${s.status}`)), "."),
          s.restricted ? el("p", {}, t("restricted")) : null,
          ...buttons,
        );
      }),
    );
  }

  // ---- devices and sessions ----------------------------------------------

  async function loadDevices() {
    const [sessions, devices] = await Promise.all([json("v1/me/sessions"), json("v1/me/devices")]);
    $("session-list").replaceChildren(
      ...sessions.items.map((s) => {
        const end = el("button", { type: "button", class: "secondary", textContent: t("end_session") });
        end.addEventListener(
          "click",
          busy(end, async () => {
            const response = await api("DELETE", `v1/me/sessions/${encodeURIComponent(s.id)}`);
            if (!response.ok && response.status !== 404) return problem(response);
            if (s.current) {
              forget();
              show("sign-in");
              say(t("signed_out"));
            } else {
              await loadDevices();
              say(t("session_ended"));
            }
          }),
        );
        return el(
          "li",
          {},
          el("span", {}, s.user_agent || t("unknown_device")),
          s.current ? el("span", { class: "badge on" }, t("this_session")) : null,
          el("br"),
          el("span", { class: "muted" }, `${s.ip_prefix || ""} · ${t("started")} ${when(s.created_at)} · ${t("last_used")} ${when(s.last_used_at)}`),
          el("br"),
          end,
        );
      }),
    );
    $("device-list").replaceChildren(
      ...devices.items.map((d) => {
        const e = d.estimate || {};
        const name = [e.browser, e.os, e.model].filter(Boolean).join(" · ") || d.user_agent || t("unknown_device");
        const remove = el("button", { type: "button", class: "secondary", textContent: t("remove") });
        remove.setAttribute("aria-label", `${t("remove")}: ${name}`);
        remove.addEventListener(
          "click",
          busy(remove, async () => {
            const response = await api("DELETE", `v1/me/devices/${encodeURIComponent(d.id)}`);
            if (!response.ok) return problem(response);
            await loadDevices();
            say(t("device_removed"));
          }),
        );
        return el("li", {}, el("span", {}, name), el("br"), el("span", { class: "muted" }, `${d.ip || ""} · ${t("last_sign_in")} ${when(d.last_login_at)}`), el("br"), remove);
      }),
    );
  }

  // ---- policies ----------------------------------------------------------

  async function loadPolicies() {
    const blocks = [];
    for (const kind of ["privacy", "terms", "cookies"]) {
      const response = await api("GET", `v1/public/${encodeURIComponent(slug)}/policies/${kind}`);
      if (response.status === 404) continue;
      if (!response.ok) {
        await problem(response);
        continue;
      }
      const current = await response.json();
      if (kind === "privacy") privacyVersion = current.version;
      const text = el("div", { class: "policy-body" }, current.body);
      const earlier = el("details", {}, el("summary", {}, t("earlier")));
      earlier.addEventListener("toggle", async () => {
        if (!earlier.open || earlier.dataset.loaded) return;
        earlier.dataset.loaded = "1";
        const versions = await json(`v1/public/${encodeURIComponent(slug)}/policies/${kind}/versions`);
        const list = el("ul", { class: "items" });
        for (const v of versions.items.filter((v) => v.version !== current.version)) {
          const open = el("button", { type: "button", class: "secondary", textContent: `${t("show")} ${t("version")} ${v.version}` });
          const holder = el("div");
          open.addEventListener(
            "click",
            busy(open, async () => {
              const full = await json(`v1/public/${encodeURIComponent(slug)}/policies/${kind}/versions/${v.version}`);
              holder.replaceChildren(el("div", { class: "policy-body" }, full.body));
            }),
          );
          list.append(el("li", {}, el("span", {}, `${v.title} (${t("version")} ${v.version}, ${t("published")} ${when(v.published_at)})`), el("br"), open, holder));
        }
        earlier.append(list);
      });
      blocks.push(
        el(
          "article",
          { class: "card" },
          el("h3", {}, `${t(`policy_${kind}`)}: ${current.title}`),
          el("p", { class: "muted" }, `${t("version")} ${current.version}, ${t("published")} ${when(current.published_at)}`),
          text,
          current.version > 1 ? earlier : null,
        ),
      );
    }
    $("policy-list").replaceChildren(...(blocks.length ? blocks : [el("p", {}, t("no_policies"))]));
  }

  // ---- export, requests, erasure -----------------------------------------

  function download(button, format) {
    button.addEventListener(
      "click",
      busy(button, async () => {
        const response = await api("GET", `v1/me/export?format=${format}`);
        if (!response.ok) return problem(response);
        const file = URL.createObjectURL(await response.blob());
        const link = el("a", { href: file, download: `${slug}-my-data.${format}` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(file), 10000);
        say(t("export_done"));
      }),
    );
  }
  download($("export-json"), "json");
  download($("export-zip"), "zip");

  async function loadRequests() {
    const requests = await json("v1/me/requests");
    const items = requests.items || [];
    $("request-list").replaceChildren(
      ...(items.length
        ? items.map((r) =>
            el(
              "li",
              {},
              el("span", {}, t(`kind_${r.kind}`)),
              el("span", { class: "badge" }, t(`state_${r.state}`)),
              el("br"),
              el("span", { class: "muted" }, `${t("received")} ${when(r.received_at)} · ${t("due")} ${day(r.due_on)}`),
            ),
          )
        : [el("li", { class: "muted" }, t("no_requests"))]),
    );
  }

  const requestForm = $("request-form");
  requestForm.addEventListener(
    "submit",
    busy(requestForm.querySelector("button[type=submit]"), async () => {
      const ask = { kind: $("request-kind").value };
      const details = $("request-details").value.trim();
      if (details) ask.details = details;
      const response = await api("POST", "v1/me/requests", ask);
      if (!response.ok) return problem(response);
      const made = await response.json();
      requestForm.reset();
      await loadRequests();
      say(t("request_sent", { due: day(made.due_on) }));
    }),
  );

  const pending = (due) => {
    $("erasure-pending").hidden = !due;
    $("erase").hidden = Boolean(due);
    if (due) $("erasure-when").textContent = t("erase_pending", { when: when(due) });
  };
  $("erase").addEventListener("click", () => {
    $("erase-confirm").hidden = false;
    $("erase-no").focus();
  });
  $("erase-no").addEventListener("click", () => {
    $("erase-confirm").hidden = true;
    $("erase").focus();
  });
  $("erase-yes").addEventListener(
    "click",
    busy($("erase-yes"), async () => {
      const response = await api("POST", "v1/me/erasure");
      if (!response.ok) return problem(response);
      $("erase-confirm").hidden = true;
      const answer = await response.json();
      if (response.status === 202) {
        pending(answer.due_at);
        say(t("erase_pending", { when: when(answer.due_at) }));
        return;
      }
      forget();
      $("done-title").textContent = t("erased_title");
      $("done-text").textContent = t("erased_text", { id: answer.id });
      show("done");
      say("");
    }),
  );
  $("erase-cancel").addEventListener(
    "click",
    busy($("erase-cancel"), async () => {
      const response = await api("DELETE", "v1/me/erasure");
      if (!response.ok) return problem(response);
      pending(null);
      say(t("erase_cancelled"));
    }),
  );

  // ---- start -------------------------------------------------------------

  function translate() {
    document.documentElement.lang = lang;
    document.title = `${body.dataset.tenantName}: ${t("title")}`;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    for (const node of document.querySelectorAll("[data-t-label]")) node.setAttribute("aria-label", t(node.dataset.tLabel));
  }

  async function start() {
    translate();
    // A mailed link: #verify=TOKEN or #reset=TOKEN. The fragment never
    // reaches a server; it leaves the address bar at once.
    const link = new URLSearchParams(window.location.hash.slice(1));
    if (link.has("verify") || link.has("reset")) history.replaceState(null, "", window.location.pathname);
    if (link.has("verify")) {
      const response = await api("POST", "v1/auth/verify-email", { token: link.get("verify") });
      if (response.ok) say(t("verify_done"));
      else await problem(response);
    }
    if (link.has("reset")) {
      resetToken = link.get("reset");
      show("reset-view");
      return;
    }
    if (session) {
      try {
        await load();
        show("account");
        return;
      } catch (_) {
        // the session ended: sign in again
      }
    }
    show("sign-in");
  }

  start();
})();
