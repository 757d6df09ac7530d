// The simulated Slack client: sends what a Slack user would send through devhost's Slack
// simulator and draws the modal and messages from the Block Kit JSON the app produced.
// Every piece of app text reaches the page as a DOM text node, never as markup.
"use strict";

(() => {
  const POLL_WAIT_SECONDS = 25;
  const RETRY_MS = 1000;
  // A few shortcodes become a symbol the system fonts have; the rest stay as typed.
  const EMOJI = {
    white_check_mark: ["\u2714", "good"],
    heavy_check_mark: ["\u2714", "good"],
    x: ["\u2716", "bad"],
    warning: ["\u26A0", "warn"],
    hourglass: ["\u231B", "wait"],
    hourglass_flowing_sand: ["\u231B", "wait"],
    information_source: ["\u2139", "info"],
    raised_hand: ["\u270B", "info"],
    no_entry: ["\u26D4", "bad"],
    no_entry_sign: ["\u26D4", "bad"],
    leftwards_arrow_with_hook: ["\u21A9", "info"],
    outbox_tray: ["\u21E7", "info"],
    alarm_clock: ["\u23F0", "wait"],
    heavy_multiplication_x: ["\u2716", "bad"],
  };
  const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);

  const state = {
    users: [],
    userId: null,
    commandChannel: { id: "C0SIMGENRL", name: "general" },
    noticesChannel: null,
    approvalsChannel: null,
    since: 0,
    feed: [],
    general: [],
    modal: null,
    pane: "channel",
    home: { userId: null, status: "closed", record: null, problem: "" },
    rendered: { dms: "", notices: "", approvals: "", general: "", home: "" },
  };

  // --- DOM helpers -------------------------------------------------------------------------

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);

  // --- Slack text: mrkdwn and plain_text ---------------------------------------------------

  function decodeEntities(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function emojiNode(name) {
    if (!Object.hasOwn(EMOJI, name)) return document.createTextNode(`:${name}:`);
    const [symbol, tone] = EMOJI[name];
    return h("span", { class: `emoji ${tone}`, title: `:${name}:`, role: "img", "aria-label": name },
      symbol);
  }

  function withEmoji(text) {
    const nodes = [];
    let last = 0;
    for (const match of text.matchAll(/:([a-z0-9_+-]+):/g)) {
      nodes.push(text.slice(last, match.index), emojiNode(match[1]));
      last = match.index + match[0].length;
    }
    nodes.push(text.slice(last));
    return nodes.filter((node) => node !== "");
  }

  function userName(id) {
    const user = state.users.find((candidate) => candidate.id === id);
    return user ? user.name : id;
  }

  function safeHref(target) {
    try {
      const url = new URL(target);
      return LINK_SCHEMES.has(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  // `<…>` in mrkdwn: a link, a user or channel mention, or a special mention.
  function angleNode(inner) {
    const bar = inner.indexOf("|");
    const target = bar < 0 ? inner : inner.slice(0, bar);
    const label = bar < 0 ? "" : decodeEntities(inner.slice(bar + 1));
    if (target.startsWith("@")) {
      return h("span", { class: "mention" }, "@", label || userName(target.slice(1)));
    }
    if (target.startsWith("#")) {
      return h("span", { class: "mention" }, "#", label || target.slice(1));
    }
    if (target.startsWith("!date^")) {
      const [, epoch, format] = target.split("^");
      return h("time", { class: "date", datetime: isoFromEpoch(epoch) },
        slackDate(epoch, format) || label || epoch);
    }
    if (target.startsWith("!subteam^")) {
      return h("span", { class: "mention" }, "@", label || target.split("^")[1]);
    }
    if (target.startsWith("!")) {
      return h("span", { class: "mention" }, "@", label || target.slice(1).split("^")[0]);
    }
    const href = safeHref(decodeEntities(target));
    if (!href) return document.createTextNode(decodeEntities(`<${inner}>`));
    return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label || href);
  }

  const INLINE = new RegExp(
    [
      "`([^`\\n]+)`",
      "<([^<>\\n]+)>",
      "(?<![\\w*])\\*(?!\\s)([^*\\n]+?)(?<!\\s)\\*(?![\\w*])",
      "(?<![\\w_])_(?!\\s)([^_\\n]+?)(?<!\\s)_(?![\\w_])",
      "(?<![\\w~])~(?!\\s)([^~\\n]+?)(?<!\\s)~(?![\\w~])",
    ].join("|"),
    "g",
  );

  function inline(text) {
    const nodes = [];
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      nodes.push(...withEmoji(decodeEntities(text.slice(last, match.index))));
      const [, code, angle, bold, italic, strike] = match;
      if (code !== undefined) nodes.push(h("code", null, decodeEntities(code)));
      else if (angle !== undefined) nodes.push(angleNode(angle));
      else if (bold !== undefined) nodes.push(h("strong", null, inline(bold)));
      else if (italic !== undefined) nodes.push(h("em", null, inline(italic)));
      else nodes.push(h("s", null, inline(strike)));
      last = match.index + match[0].length;
    }
    nodes.push(...withEmoji(decodeEntities(text.slice(last))));
    return nodes;
  }

  function mrkdwn(text) {
    const nodes = [];
    const parts = String(text).split("```");
    parts.forEach((part, index) => {
      const isCode = index % 2 === 1 && index < parts.length - 1;
      if (isCode) nodes.push(h("pre", { class: "code-block" }, decodeEntities(part.replace(/^\n/, ""))));
      else nodes.push(...inline(index % 2 === 1 ? "```" + part : part));
    });
    return nodes;
  }

  function textObject(object) {
    if (!object || typeof object !== "object") return "";
    const text = typeof object.text === "string" ? object.text : "";
    if (object.type === "mrkdwn") return mrkdwn(text);
    if (object.type === "plain_text") return object.emoji === false ? text : withEmoji(text);
    return unsupported(`text object "${object.type}"`);
  }

  // --- Block Kit ---------------------------------------------------------------------------

  function unsupported(what) {
    return h("div", { class: "unsupported", "data-unsupported": what },
      `Unsupported ${what}: this simulator does not draw it.`);
  }

  function sectionBlock(block, where) {
    const fields = Array.isArray(block.fields) ? block.fields : [];
    const accessory = block.accessory;
    let side = null;
    if (accessory && where && isButton(accessory)) side = blockButton(accessory, where, block);
    else if (accessory) side = unsupported(`accessory "${accessory.type}"`);
    return h("div", { class: `block section${side ? " with-accessory" : ""}` },
      h("div", { class: "section-main" },
        block.text ? h("div", { class: "text" }, textObject(block.text)) : null,
        fields.length ? h("div", { class: "fields" },
          fields.map((field) => h("div", { class: "text" }, textObject(field)))) : null),
      side);
  }

  // A person's message holds a rich_text block: sections of text, links, mentions and emoji.
  function richTextElement(element) {
    switch (element && element.type) {
      case "text": return element.text || "";
      case "link": {
        const href = safeHref(element.url || "");
        const label = element.text || element.url || "";
        return href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label) : label;
      }
      case "user": return h("span", { class: "mention" }, "@", userName(element.user_id));
      case "channel": return h("span", { class: "mention" }, "#", element.channel_id);
      case "emoji": return emojiNode(element.name || "");
      default: return "";
    }
  }

  function richTextBlock(block) {
    const sections = Array.isArray(block.elements) ? block.elements : [];
    return h("div", { class: "block rich-text text" }, sections.map((section) => {
      const elements = Array.isArray(section.elements) ? section.elements : [];
      const inline = elements.map(richTextElement);
      if (section.type === "rich_text_preformatted") return h("pre", { class: "code-block" }, inline);
      if (section.type === "rich_text_quote") return h("blockquote", null, inline);
      return h("span", null, inline);
    }));
  }

  function contextBlock(block) {
    const elements = Array.isArray(block.elements) ? block.elements : [];
    return h("div", { class: "block context" }, elements.map((element) =>
      ["mrkdwn", "plain_text"].includes(element.type)
        ? h("span", { class: "text" }, textObject(element))
        : unsupported(`context element "${element.type}"`)));
  }

  function selectElement(element, id) {
    const initial = element.initial_option && element.initial_option.value;
    const options = Array.isArray(element.options) ? element.options : [];
    return h("select", { id, class: "field-input" },
      h("option", { value: "", disabled: true, selected: initial === undefined },
        element.placeholder ? element.placeholder.text : "Select an item"),
      options.map((option) => h("option", { value: option.value, selected: option.value === initial },
        option.text ? option.text.text : option.value)));
  }

  function textElement(element, id) {
    const props = {
      id,
      class: "field-input",
      placeholder: element.placeholder ? element.placeholder.text : null,
      maxlength: element.max_length || null,
    };
    if (element.multiline) {
      const area = h("textarea", { ...props, rows: 5, spellcheck: "false" });
      area.value = element.initial_value || "";
      return area;
    }
    const input = h("input", { ...props, type: "text" });
    input.value = element.initial_value || "";
    return input;
  }

  const INPUT_ELEMENTS = { static_select: selectElement, plain_text_input: textElement };

  function inputBlock(block, index) {
    const element = block.element || {};
    const id = `field-${index}`;
    const draw = INPUT_ELEMENTS[element.type];
    const control = draw ? draw(element, id) : unsupported(`input element "${element.type}"`);
    if (draw) {
      control.dataset.blockId = block.block_id;
      control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
    }
    return h("div", { class: "block input", "data-block-id": block.block_id },
      h("label", { for: id, class: "label" }, textObject(block.label),
        block.optional ? h("span", { class: "optional" }, " (optional)") : null),
      control,
      block.hint ? h("div", { class: "hint", id: `${id}-hint` }, textObject(block.hint)) : null,
      h("div", { class: "field-error", id: `${id}-error`, role: "alert" }));
  }

  // Buttons (Approve and Reject, Cancel request, Flush again, the Home tab's) are drawn and
  // clicked as the chosen user; an actions block with anything else is not drawn.
  function isButton(element) {
    return element && element.type === "button" && typeof element.action_id === "string" &&
      element.action_id !== "";
  }

  function blockButton(element, where, block) {
    // On the Home tab several buttons share an action_id (a Flush again per flush): the block
    // and the button's value say which one was clicked.
    const target = where.home
      ? { ...where, block_id: block.block_id, button_value: element.value }
      : where;
    return h("button", {
      type: "button",
      class: `block-button ${element.style || "default"}`,
      "data-action-id": element.action_id,
      onclick: (event) => clickButton(event.currentTarget, target, element),
    }, textObject(element.text));
  }

  function actionsBlock(block, where) {
    const elements = Array.isArray(block.elements) ? block.elements : [];
    if (!where || !elements.length || !elements.every(isButton)) return unsupported('block "actions"');
    return h("div", { class: "block actions" },
      elements.map((element) => blockButton(element, where, block)));
  }

  function renderBlocks(blocks, { inputs = false, where = null } = {}) {
    if (!Array.isArray(blocks)) return [];
    return blocks.map((block, index) => {
      switch (block && block.type) {
        case "section": return sectionBlock(block, where);
        case "rich_text": return richTextBlock(block);
        case "actions": return actionsBlock(block, where);
        case "header": return h("h3", { class: "block header" }, textObject(block.text));
        case "divider": return h("hr", { class: "block divider" });
        case "context": return contextBlock(block);
        case "input":
          if (inputs) return inputBlock(block, index);
          return unsupported('block "input" outside a modal');
        default: return unsupported(`block "${block && block.type}"`);
      }
    });
  }

  // --- talking to the simulator ------------------------------------------------------------

  async function getJSON(path) {
    const response = await fetch(path, { cache: "no-store" });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  async function postJSON(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = {};
    }
    return { status: response.status, data };
  }

  // Failures to try: each makes the simulated cache-flush (or Akamai behind it) fail the next
  // flush, retries included, the way the real service fails, so its message can be seen.
  const FAULTS = "/sim/cache-flush/faults";
  const AKAMAI_ERRORS = "/sim/cache-flush/akamai-errors";
  const FAILURES = {
    "akamai-403": [AKAMAI_ERRORS, { status: 403 }],
    rejected: [FAULTS, { status: 400, body: { message:
      "Request must contain a body with required properties: 'environment', 'objects'." } }],
    "rate-limited": [AKAMAI_ERRORS, { status: 429, times: 3 }],
    unavailable: [FAULTS, { status: 503, times: 3 }],
    "no-answer": [FAULTS, { drop: true, times: 3 }],
  };

  async function armFailure(select) {
    const failure = FAILURES[select.value];
    const label = select.selectedOptions[0].textContent;
    select.value = "";
    if (!failure) return;
    await Promise.all([FAULTS, AKAMAI_ERRORS].map((path) => fetch(path, { method: "DELETE" })));
    const { status } = await postJSON(...failure);
    if (status !== 200) throw new Error(`the simulator answered HTTP ${status}`);
    addFeed("notice", "Next flush", `The next flush will fail: ${label}.`);
  }

  function currentUser() {
    return state.users.find((user) => user.id === state.userId) || { id: state.userId, name: "" };
  }

  const who = () => ({ user_id: currentUser().id, user_name: currentUser().name });

  // --- the channel feed: what you typed and what came back ---------------------------------

  function addFeed(kind, text, detail) {
    state.feed.push({ userId: state.userId, kind, text, detail, at: new Date() });
    drawFeed();
  }

  // Every time on the page is shown in UTC, the zone the app's own fallback texts use, so
  // the page, the app's messages and devhost's logs agree whatever the browser's zone.
  const UTC_TIME = new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const UTC_CLOCK = new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const UTC_DAY = new Intl.DateTimeFormat("en-US", {
    timeZone: "UTC", month: "short", day: "numeric", year: "numeric",
  });
  const UTC_LONG_DAY = new Intl.DateTimeFormat("en-US", {
    timeZone: "UTC", weekday: "long", month: "long", day: "numeric", year: "numeric",
  });

  function time(date) {
    return `${UTC_TIME.format(date)} UTC`;
  }

  function isoFromEpoch(epoch) {
    const seconds = Number(epoch);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;
  }

  // `<!date^epoch^format|fallback>`: the tokens Slack documents, written in UTC.
  function slackDate(epoch, format) {
    const seconds = Number(epoch);
    if (!Number.isFinite(seconds) || !format) return null;
    const date = new Date(seconds * 1000);
    const day = (value) => value.toISOString().slice(0, 10);
    const now = new Date();
    const yesterday = new Date(now.getTime() - 86_400_000);
    const pretty = (formatted) => {
      if (day(date) === day(now)) return "Today";
      if (day(date) === day(yesterday)) return "Yesterday";
      return formatted;
    };
    const tokens = {
      date_num: day(date),
      date: UTC_DAY.format(date),
      date_short: UTC_DAY.format(date),
      date_long: UTC_LONG_DAY.format(date),
      date_pretty: pretty(UTC_DAY.format(date)),
      date_short_pretty: pretty(UTC_DAY.format(date)),
      date_long_pretty: pretty(UTC_LONG_DAY.format(date)),
      time: `${UTC_CLOCK.format(date)} UTC`,
      time_secs: `${UTC_TIME.format(date)} UTC`,
    };
    return format.replace(/\{(\w+)\}/g, (whole, name) => tokens[name] || whole);
  }

  // #general shows, in time order, what this page did (commands typed, notes from Slackbot)
  // and the channel's messages: people's posts and the replies only this user sees.
  function drawFeed() {
    const feed = $("feed");
    const intro = feed.querySelector(".intro");
    const items = state.feed.filter((item) => item.userId === state.userId).map((item) => ({
      at: item.at.getTime(),
      node: h("li", { class: `feed-item ${item.kind}` },
        h("div", { class: "meta" },
          h("span", { class: "author" }, item.kind === "command" ? currentUser().name : "Slackbot"),
          h("span", { class: "time" }, time(item.at))),
        h("div", { class: item.kind === "command" ? "command-text" : "text" }, item.text),
        item.detail ? h("div", { class: "detail" }, item.detail) : null),
    }));
    const posts = state.general.map((record) => ({
      at: (Number.parseFloat((record.message || {}).ts) || 0) * 1000,
      node: messageItem(record, record.ephemeral ? "Only visible to you" : null),
    }));
    const ordered = [...items, ...posts].sort((a, b) => a.at - b.at);
    feed.replaceChildren(intro, ...ordered.map((entry) => entry.node));
    feed.scrollTop = feed.scrollHeight;
  }

  async function sendCommand(raw) {
    const text = raw.trim();
    if (!text) return;
    const match = /^\/(\S+)\s*([\s\S]*)$/.exec(text);
    if (!match) {
      await postMessage(text);
      return;
    }
    if (match[1] !== "flush") {
      addFeed("notice", text, `/${match[1]} is not a valid command here. Try /flush.`);
      return;
    }
    addFeed("command", text);
    const { status, data } = await postJSON("/sim/slack/command", {
      ...who(),
      command: "/flush",
      text: match[2].trim(),
      channel_id: state.commandChannel.id,
      channel_name: state.commandChannel.name,
    });
    if (status !== 200) {
      addFeed("error", "/flush failed", `The simulator answered HTTP ${status}: ${data.error || ""}`);
    } else if (data.status === null || data.status === undefined) {
      addFeed("error", "/flush failed", `Slack could not reach the app (${data.error}).`);
    } else if (data.status !== 200) {
      addFeed("error", "/flush failed", `The app answered HTTP ${data.status}.`);
    }
  }

  // A message typed without a slash is posted in the channel, stored as Slack stores it.
  async function postMessage(text) {
    const { status, data } = await postJSON("/sim/slack/post", {
      ...who(), text, channel: state.commandChannel.id,
    });
    if (status !== 200) {
      addFeed("error", "Your message was not posted", `The simulator answered HTTP ${status}: ${data.error || ""}`);
    }
    scheduleRefresh();
  }

  // --- the modal ---------------------------------------------------------------------------

  function topOpenView(views) {
    const open = views.filter((record) => record.open);
    return open.length ? open[open.length - 1] : null;
  }

  function drawModal(record) {
    const overlay = $("overlay");
    if (!record) {
      state.modal = null;
      overlay.replaceChildren();
      overlay.hidden = true;
      return;
    }
    const view = record.view;
    const key = `${record.user_id}:${view.id}:${view.hash}`;
    if (state.modal && state.modal.key === key) {
      state.modal.serverErrors = record.errors || {};
      showFieldErrors();
      return;
    }
    const title = textObject(view.title);
    const closeLabel = view.close ? view.close.text : "Cancel";
    const submitLabel = view.submit ? view.submit.text : null;
    const form = h("form", { class: "modal", role: "dialog", "aria-modal": "true",
      "aria-labelledby": "modal-title", novalidate: true, "data-view-id": view.id,
      onsubmit: (event) => { event.preventDefault(); submitModal(); } },
      h("header", { class: "modal-header" }, h("h2", { id: "modal-title" }, title)),
      h("div", { class: "modal-body" },
        renderBlocks(view.blocks, { inputs: true, where: { view_id: view.id } }),
        h("div", { class: "modal-alert", id: "modal-alert", role: "alert", hidden: true })),
      h("footer", { class: "modal-footer" },
        h("button", { type: "button", class: "secondary", id: "modal-close",
          onclick: closeModal }, closeLabel),
        submitLabel
          ? h("button", { type: "submit", class: "primary", id: "modal-submit" }, submitLabel)
          : null));
    state.modal = { key, viewId: view.id, serverErrors: record.errors || {}, clientErrors: {} };
    overlay.replaceChildren(form);
    overlay.hidden = false;
    showFieldErrors();
    const first = form.querySelector(".field-input") || form.querySelector("button");
    if (first) first.focus();
  }

  function showFieldErrors() {
    const modal = state.modal;
    for (const block of document.querySelectorAll(".modal .block.input")) {
      const blockId = block.getAttribute("data-block-id");
      const message = modal.clientErrors[blockId] || modal.serverErrors[blockId] || "";
      const error = block.querySelector(".field-error");
      error.textContent = message;
      block.classList.toggle("has-error", Boolean(message));
      const control = block.querySelector(".field-input");
      if (control) control.setAttribute("aria-invalid", message ? "true" : "false");
    }
  }

  function modalAlert(message) {
    const alert = $("modal-alert");
    if (!alert) return;
    alert.textContent = message || "";
    alert.hidden = !message;
  }

  function setModalBusy(busy) {
    for (const button of document.querySelectorAll(".modal-footer button")) {
      button.disabled = busy;
    }
    const submit = $("modal-submit");
    if (submit) submit.classList.toggle("busy", busy);
  }

  function formValues() {
    const values = {};
    for (const control of document.querySelectorAll(".modal .field-input")) {
      values[control.dataset.blockId] = control.value;
    }
    return values;
  }

  async function submitModal() {
    const modal = state.modal;
    if (!modal) return;
    modal.clientErrors = {};
    showFieldErrors();
    modalAlert("");
    setModalBusy(true);
    try {
      const { status, data } = await postJSON("/sim/slack/submit", {
        ...who(), view_id: modal.viewId, values: formValues(),
      });
      if (state.modal !== modal) return;
      if (status === 422 && data.client_errors) {
        modal.clientErrors = data.client_errors;
        showFieldErrors();
      } else if (status !== 200) {
        modalAlert(`The simulator refused the submission (HTTP ${status}): ${data.error || ""}`);
      } else if (String(data.outcome).startsWith("kept_open")) {
        modalAlert(`Slack kept the view open: ${String(data.outcome).replace(/^kept_open: /, "")}`);
      }
    } catch (error) {
      modalAlert(`Could not reach devhost: ${error.message}`);
    } finally {
      if (state.modal === modal) setModalBusy(false);
      scheduleRefresh();
    }
  }

  async function closeModal() {
    const modal = state.modal;
    if (!modal) return;
    drawModal(null);
    $("message").focus();
    await postJSON("/sim/slack/close", { ...who(), view_id: modal.viewId });
    scheduleRefresh();
  }

  // --- messages ----------------------------------------------------------------------------

  function messageTime(ts) {
    const seconds = Number.parseFloat(ts);
    return Number.isFinite(seconds) ? time(new Date(seconds * 1000)) : "";
  }

  function messageItem(record, note) {
    const message = record.message || {};
    const where = record.ephemeral ? null : { channel: record.channel, ts: message.ts };
    const body = Array.isArray(message.blocks) && message.blocks.length
      ? renderBlocks(message.blocks, { where })
      : [h("div", { class: "block section" }, h("div", { class: "text" }, mrkdwn(message.text || "")))];
    const shownNote = note || (record.ephemeral ? "Only visible to you" : null);
    const byPerson = Boolean(message.user) && !message.bot_id;
    return h("li", { class: `message${record.ephemeral ? " ephemeral" : ""}${byPerson ? " by-person" : ""}`,
      "data-ts": message.ts || "" },
      h("div", { class: "meta" },
        h("span", { class: "author" }, byPerson ? userName(message.user) : "Cache Flush"),
        byPerson ? null : h("span", { class: "badge" }, "APP"),
        h("span", { class: "time" }, messageTime(message.ts)),
        message.edited ? h("span", { class: "note edited" }, "(edited)") : null,
        shownNote ? h("span", { class: "note" }, shownNote) : null,
        where ? moreActions(where) : null),
      h("div", { class: "message-body" }, body));
  }

  // "More actions" on a message, as in Slack: the app's message shortcut.
  function moreActions(where) {
    const menu = h("ul", { class: "menu", role: "menu", hidden: true },
      h("li", { role: "none" }, h("button", {
        type: "button",
        role: "menuitem",
        onclick: (event) => {
          menu.hidden = true;
          runShortcut(event.currentTarget, where);
        },
      }, "Flush links in this message")));
    const toggle = h("button", {
      type: "button",
      class: "more-actions",
      "aria-label": "More actions",
      "aria-haspopup": "menu",
      title: "More actions",
      onclick: () => {
        const open = menu.hidden;
        closeMenus();
        menu.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
      },
    }, "\u22EF");
    return h("span", { class: "more" }, toggle, menu);
  }

  function closeMenus() {
    for (const menu of document.querySelectorAll(".menu")) menu.hidden = true;
    for (const toggle of document.querySelectorAll(".more-actions")) {
      toggle.setAttribute("aria-expanded", "false");
    }
  }

  function runShortcut(item, where) {
    return deliver(item, "Flush links in this message", "/sim/slack/shortcut", {
      channel: where.channel, ts: where.ts, callback_id: "flush_links",
    });
  }

  function clickButton(button, where, element) {
    const label = element.text && element.text.text ? element.text.text : element.action_id;
    const { home, ...place } = where;
    const path = home ? "/sim/slack/home/click" : "/sim/slack/click";
    return deliver(button, label, path, { action_id: element.action_id, ...place });
  }

  // Do something as the user through the simulated Slack, with `control` disabled meanwhile.
  async function deliver(control, label, path, body) {
    control.disabled = true;
    try {
      const { status, data } = await postJSON(path, { ...who(), ...body });
      reportDelivery(label, status, data);
    } catch (error) {
      addFeed("error", `${label} failed`, `Could not reach devhost: ${error.message}`);
    } finally {
      control.disabled = false;
      scheduleRefresh();
    }
  }

  // What Slack tells a user when the app did not take a request.
  function reportDelivery(label, status, data) {
    if (status !== 200) {
      addFeed("error", `${label} failed`, `The simulator answered HTTP ${status}: ${data.error || ""}`);
    } else if (data.status === null || data.status === undefined) {
      addFeed("error", `${label} failed`, `Slack could not reach the app (${data.error}).`);
    } else if (data.status !== 200) {
      addFeed("error", `${label} failed`, `The app answered HTTP ${data.status}.`);
    }
  }

  function isReply(record) {
    const message = record.message || {};
    return Boolean(message.thread_ts) && message.thread_ts !== message.ts;
  }

  function threadItem(record, replies) {
    const item = messageItem(record);
    if (!replies.length) return item;
    const count = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
    item.append(h("div", { class: "thread" },
      h("div", { class: "thread-count note" }, count),
      h("ul", { class: "thread-replies" }, replies.map((reply) => messageItem(reply, "in thread")))));
    return item;
  }

  function drawMessages(listId, records, emptyText) {
    const signature = JSON.stringify(records.map((record) => record.message));
    if (state.rendered[listId] === signature) return;
    state.rendered[listId] = signature;
    const list = $(listId);
    // Replies are drawn in their parent's thread, as Slack shows them, not in the channel.
    const replies = new Map();
    for (const record of records.filter(isReply)) {
      const key = `${record.channel} ${record.message.thread_ts}`;
      replies.set(key, [...(replies.get(key) || []), record]);
    }
    const parents = records.filter((record) => !isReply(record));
    list.replaceChildren(...(parents.length
      ? parents.map((record) => threadItem(
        record, replies.get(`${record.channel} ${(record.message || {}).ts}`) || []))
      : [h("li", { class: "empty" }, emptyText)]));
    list.scrollTop = list.scrollHeight;
  }

  // --- the app's Home tab ------------------------------------------------------------------

  function showPane(pane) {
    state.pane = pane;
    const home = pane === "home";
    $("channel-pane").hidden = home;
    $("home-pane").hidden = !home;
    $("tab-channel").setAttribute("aria-selected", String(!home));
    $("tab-home").setAttribute("aria-selected", String(home));
    $("channel-note").textContent = home
      ? "the app's Home tab: your flushes, and requests waiting for you"
      : "where you type the slash command";
    if (home) openHome();
    else $("message").focus();
  }

  // Opening the tab makes Slack send the app `app_home_opened`, every time, as in Slack.
  async function openHome() {
    const userId = state.userId;
    state.home = { ...state.home, userId, status: "opening", problem: "" };
    drawHome(state.home.record);
    let problem = "";
    try {
      const { status, data } = await postJSON("/sim/slack/home/open", { ...who(), tab: "home" });
      if (status !== 200) problem = `The simulator answered HTTP ${status}: ${data.error || ""}`;
      else if (data.status === null || data.status === undefined) {
        problem = `Slack could not reach the app (${data.error}).`;
      } else if (data.status !== 200) problem = `The app answered HTTP ${data.status}.`;
    } catch (error) {
      problem = `Could not reach devhost: ${error.message}`;
    }
    if (state.userId !== userId) return;
    state.home = { ...state.home, status: "open", problem };
    state.rendered.home = "";
    scheduleRefresh();
  }

  function drawHome(record) {
    const home = state.home;
    home.record = record;
    const signature = JSON.stringify([home.status, home.problem, record && record.view]);
    if (state.rendered.home === signature) return;
    state.rendered.home = signature;
    const pane = $("home");
    const notes = [];
    if (home.status === "opening" && !record) notes.push(h("p", { class: "note" }, "Opening…"));
    if (home.problem) notes.push(h("p", { class: "home-problem", role: "alert" }, home.problem));
    if (!record && home.status === "open") {
      notes.push(h("p", { class: "empty" }, "The app has not published a Home tab for you."));
    }
    const blocks = record ? renderBlocks(record.view.blocks, { where: { home: true } }) : [];
    pane.replaceChildren(...notes, ...blocks);
  }

  // --- the "simulate" panel -----------------------------------------------------------------

  async function armSlow(select) {
    const seconds = Number(select.value);
    select.value = "";
    if (!seconds) return;
    const { status } = await postJSON(FAULTS, { delay: seconds, times: 1 });
    if (status !== 200) throw new Error(`the simulator answered HTTP ${status}`);
    addFeed("notice", "Next flush", `cache-flush will take ${seconds} s longer to answer the next flush.`);
  }

  function showApprovalSettings(settings) {
    const input = $("approval-timeout");
    input.value = String(settings.approval_timeout_minutes);
    const environments = settings.approval_required_environments;
    $("approval-note").textContent = environments.length
      ? `needed for ${environments.join(", ")}`
      : "approvals are off";
  }

  async function setApprovalTimeout() {
    const input = $("approval-timeout");
    const minutes = Number(input.value);
    const { status, data } = await postJSON("/sim/settings", { approval_timeout_minutes: minutes });
    if (status !== 200) {
      addFeed("error", "Approval timeout", data.error || `The simulator answered HTTP ${status}.`);
      return;
    }
    showApprovalSettings(data);
    addFeed("notice", "Approval timeout",
      `Requests submitted from now on expire after ${minutes} minute(s) without a decision; ` +
      "requests already waiting keep their deadline.");
  }

  // --- keeping up with the simulator -------------------------------------------------------

  function setConnection(live) {
    const badge = $("connection");
    badge.textContent = live ? "live" : "reconnecting…";
    badge.classList.toggle("offline", !live);
  }

  async function refresh() {
    const userId = state.userId;
    const enc = encodeURIComponent;
    const channelQuery = (channel) => (channel
      ? getJSON(`/sim/slack/messages?channel=${enc(channel)}&visible_to=${enc(userId)}`)
      : Promise.resolve({ messages: [] }));
    const [views, dms, notices, approvals, general, homes] = await Promise.all([
      getJSON(`/sim/slack/views?user_id=${enc(userId)}`),
      getJSON(`/sim/slack/messages?user_id=${enc(userId)}`),
      channelQuery(state.noticesChannel),
      channelQuery(state.approvalsChannel),
      getJSON(`/sim/slack/messages?channel=${enc(state.commandChannel.id)}`),
      getJSON(`/sim/slack/home?user_id=${enc(userId)}`),
    ]);
    if (userId !== state.userId) return;
    drawModal(topOpenView(views.views));
    drawMessages("dms", dms.messages, "No direct messages yet.");
    drawMessages("notices", notices.messages,
      state.noticesChannel ? "No posts yet." : "No notices channel is configured.");
    drawMessages("approvals", approvals.messages,
      state.approvalsChannel ? "No approval requests yet." : "Approvals are not configured.");
    const shown = general.messages.filter((record) => !record.ephemeral || record.user_id === userId);
    const signature = JSON.stringify(shown.map((record) => record.message));
    if (state.rendered.general !== signature) {
      state.rendered.general = signature;
      state.general = shown;
      drawFeed();
    }
    drawHome(homes.homes.length ? homes.homes[0] : null);
  }

  let refreshing = null;
  let refreshAgain = false;

  function scheduleRefresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        try {
          await refresh();
        } catch {
          setConnection(false);
        }
      } while (refreshAgain);
      refreshing = null;
    })();
  }

  const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  async function poll() {
    for (;;) {
      try {
        const data = await getJSON(`/sim/events?since=${state.since}&wait=${POLL_WAIT_SECONDS}`);
        setConnection(true);
        if (data.last_seq < state.since) {
          state.since = data.last_seq;
          scheduleRefresh();
        } else if (data.events.length) {
          state.since = Math.max(...data.events.map((event) => event.seq));
          scheduleRefresh();
        }
      } catch {
        setConnection(false);
        await pause(RETRY_MS);
      }
    }
  }

  // --- start -------------------------------------------------------------------------------

  function chooseUser(userId) {
    state.userId = userId;
    state.modal = null;
    state.rendered = { dms: "", notices: "", approvals: "", general: "", home: "" };
    state.general = [];
    state.home = { userId, status: "closed", record: null, problem: "" };
    $("overlay").replaceChildren();
    $("overlay").hidden = true;
    drawFeed();
    if (state.pane === "home") openHome();
    scheduleRefresh();
  }

  function wireComposer() {
    const box = $("message");
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = box.value;
      box.value = "";
      sendCommand(text).catch((error) => addFeed("error", "/flush failed", error.message));
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      closeMenus();
      if (state.modal) closeModal();
    });
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".more")) closeMenus();
    });
  }

  async function start() {
    const demo = await getJSON("/sim/slack/demo");
    state.users = demo.users;
    state.commandChannel = demo.command_channel;
    state.noticesChannel = demo.notices_channel;
    state.approvalsChannel = demo.approvals_channel;
    $("workspace-name").textContent = demo.workspace;
    $("channel-name").textContent = `# ${demo.command_channel.name}`;
    document.querySelector("label[for=message]").textContent = `Message #${demo.command_channel.name}`;
    $("notices-name").textContent = demo.notices_channel || "notices (not configured)";
    $("approvals-name").textContent = demo.approvals_channel || "approvals (not configured)";
    const select = $("who");
    const describe = (user) => [
      user.allowed ? "on the list" : "not on the list",
      user.approver ? "approver" : null,
      ...user.usergroups.map((group) => `in ${group}`),
    ].filter(Boolean).join(", ");
    select.replaceChildren(...demo.users.map((user) => h("option", { value: user.id },
      `${user.name} (${user.id}) · ${describe(user)}`)));
    select.disabled = false;
    select.addEventListener("change", () => chooseUser(select.value));
    const failures = $("next-flush");
    failures.disabled = false;
    failures.addEventListener("change", () => armFailure(failures)
      .catch((error) => addFeed("error", "Next flush", `Could not arm it: ${error.message}`)));
    const slow = $("next-slow");
    slow.disabled = false;
    slow.addEventListener("change", () => armSlow(slow)
      .catch((error) => addFeed("error", "Next flush", `Could not slow it: ${error.message}`)));
    showApprovalSettings(await getJSON("/sim/settings"));
    $("approval-form").addEventListener("submit", (event) => {
      event.preventDefault();
      setApprovalTimeout().catch((error) => addFeed("error", "Approval timeout", error.message));
    });
    $("approval-timeout").disabled = false;
    $("tab-channel").addEventListener("click", () => showPane("channel"));
    $("tab-home").addEventListener("click", () => showPane("home"));
    wireComposer();
    state.since = (await getJSON(`/sim/events?since=${Number.MAX_SAFE_INTEGER}`)).last_seq;
    setConnection(true);
    chooseUser(select.value);
    poll();
  }

  start().catch((error) => {
    setConnection(false);
    $("feed").append(h("li", { class: "feed-item error" },
      h("div", { class: "text" }, `The page could not start: ${error.message}`)));
  });
})();
