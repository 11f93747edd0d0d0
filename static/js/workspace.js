// Coding workspace: keyboard-first coding of one assignment. Every change is sent to the API
// at once, one request at a time, carrying the revision last seen; a failed save is retried
// until it succeeds, and a stale tab gets a conflict banner instead of overwriting newer work.
(function () {
  "use strict";

  const page = JSON.parse(document.getElementById("page-data").textContent);
  const structure = page.structure;
  const editable = page.editable;
  const segmentMode = page.mode === "segment";
  const csrf = document.body.getAttribute("hx-headers")
    ? JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]
    : "";
  const draftKey = "coding-draft-" + page.assignment;

  const markers = new Map(structure.markers.map((m) => [m.id, m]));
  const scaleOfMarker = new Map(structure.markers.map((m) => [m.id, m.scale]));
  let revision = page.coding.revision;
  // applications: id -> {id, marker, turn, segment, value, span, note}
  const applications = new Map(page.coding.markers.map((a) => [a.id, a]));

  const unitsEl = document.getElementById("units");
  const unitEls = Array.from(unitsEl.querySelectorAll(":scope > .unit"));
  const statusEl = document.getElementById("save-status");
  const commandEl = document.getElementById("command");
  const hintEl = document.getElementById("command-hint");
  const searchEl = document.getElementById("marker-search");
  const player = document.getElementById("player");
  const notesEl = document.getElementById("notes");
  let current = 0;
  let filter = "all";
  let pendingSalience = null; // a rated marker waiting for its salience digit

  // ---- saving: one queue, retried, conflict-aware -------------------------------------

  const queue = [];
  let busy = false;
  let conflicted = false;
  let retryDelay = 1000;

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.dataset.kind = kind || "";
  }

  function save(op) {
    if (!editable || conflicted) return Promise.resolve(null);
    return new Promise((resolve) => {
      queue.push({ op, resolve });
      pump();
    });
  }

  async function pump() {
    if (busy || conflicted || queue.length === 0) return;
    busy = true;
    const { op, resolve } = queue[0];
    // While retrying, the coder keeps seeing that the change has not reached the server.
    if (retryDelay > 1000) setStatus("Not saved yet: retrying…", "error");
    else setStatus("Saving…", "saving");
    let response;
    try {
      const body = op.body ? { ...op.body, base_revision: revision } : null;
      let url = op.url;
      if (op.method === "DELETE") url += (url.includes("?") ? "&" : "?") + "base_revision=" + revision;
      response = await fetch(url, {
        method: op.method,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        credentials: "same-origin",
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      response = null;
    }
    if (response === null || response.status >= 500 || response.status === 429) {
      // Network or server trouble: keep the change and try again, visibly.
      busy = false;
      setStatus("Not saved yet: retrying…", "error");
      setTimeout(pump, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
      return;
    }
    retryDelay = 1000;
    queue.shift();
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (response.ok) {
      if (typeof data.revision === "number") revision = data.revision;
      markStarted();
      resolve(data);
      busy = false;
      if (queue.length === 0 && notesTimer !== null) {
        setStatus("Unsaved notes…", "saving");
      } else if (queue.length === 0) {
        setStatus("All changes saved", "ok");
        clearDraft();
      }
      pump();
      return;
    }
    busy = false;
    if (response.status === 409) {
      showConflict(data.error ? data.error.message : "This coding changed elsewhere.");
      keepDraft(op);
      queue.forEach((q) => keepDraft(q.op));
      queue.length = 0;
      resolve(null);
      return;
    }
    setStatus("Not saved: " + (data.error ? data.error.message : "error " + response.status), "error");
    resolve(null);
    if (op.onError) op.onError(data);
    pump();
  }

  // The first saved change moves the coding from "assigned" to "in progress" on the server.
  function markStarted() {
    const badge = document.getElementById("state-badge");
    if (badge && badge.classList.contains("state-assigned")) {
      badge.classList.replace("state-assigned", "state-in_progress");
      badge.textContent = "In progress";
    }
  }

  function showConflict(message) {
    conflicted = true;
    const banner = document.getElementById("conflict-banner");
    document.getElementById("conflict-text").textContent = /\bkept\b/.test(message)
      ? message
      : message + " Your unsaved changes are kept on this computer and listed after reloading.";
    banner.hidden = false;
    setStatus("Not saved: conflict", "error");
    document.getElementById("reload-button").focus();
  }

  function keepDraft(op) {
    const draft = loadDraft();
    if (op.url === page.api.notes) {
      draft.notes = op.body.notes;
      localStorage.setItem(draftKey, JSON.stringify(draft));
      return;
    }
    draft.ops = draft.ops || [];
    const kept = { url: op.url, method: op.method, body: op.body || null, label: op.label || "" };
    const same = (o) => o.url === kept.url && o.method === kept.method && JSON.stringify(o.body) === JSON.stringify(kept.body);
    if (!draft.ops.some(same)) draft.ops.push(kept);
    if (notesEl) draft.notes = notesEl.value;
    localStorage.setItem(draftKey, JSON.stringify(draft));
  }

  function loadDraft() {
    try {
      return JSON.parse(localStorage.getItem(draftKey) || "{}");
    } catch (err) {
      return {};
    }
  }

  function clearDraft() {
    if (!conflicted) localStorage.removeItem(draftKey);
  }

  window.addEventListener("beforeunload", (event) => {
    flushNotes();
    if (queue.length > 0 && !conflicted) {
      // Keep what is still unsaved, in case the coder leaves anyway: it is offered again on
      // the next visit.
      queue.forEach((q) => keepDraft(q.op));
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ---- units, chips and counts ---------------------------------------------------------

  function unitKey(a) {
    return segmentMode ? "s" + a.segment : "t" + a.turn;
  }

  function unitIdOf(el) {
    return segmentMode ? Number(el.dataset.segmentId) : Number(el.dataset.turnId);
  }

  function chipsFor(el) {
    const id = unitIdOf(el);
    return Array.from(applications.values()).filter((a) =>
      segmentMode ? a.segment === id : a.turn === id
    );
  }

  function renderChips(el) {
    const box = el.querySelector(".chips");
    box.textContent = "";
    const list = chipsFor(el);
    el.classList.toggle("coded", list.length > 0);
    for (const a of list) {
      const m = markers.get(a.marker);
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.applicationId = a.id;
      let label = (m.number != null ? m.number + " " : "") + m.name;
      if (a.value != null) label += " · " + a.value;
      const text = document.createElement("span");
      text.textContent = label;
      chip.appendChild(text);
      if (a.span) {
        const span = document.createElement("span");
        span.className = "chip-span";
        span.textContent = "“" + spanText(el, a.span) + "”";
        chip.appendChild(span);
      }
      if (a.note) {
        const note = document.createElement("span");
        note.className = "chip-note";
        note.textContent = a.note;
        chip.appendChild(note);
      }
      if (editable) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.setAttribute("aria-label", "Remove " + m.name);
        remove.textContent = "×";
        remove.addEventListener("click", () => removeApplication(a.id));
        chip.appendChild(remove);
      }
      box.appendChild(chip);
    }
  }

  function spanText(el, span) {
    const textEl = el.querySelector(".turn-text");
    const text = textEl ? textEl.textContent : "";
    const piece = text.slice(span[0], span[1]);
    return piece.length > 60 ? piece.slice(0, 57) + "…" : piece;
  }

  function renderCounts() {
    const perMarker = new Map();
    const perScale = new Map();
    for (const a of applications.values()) {
      perMarker.set(a.marker, (perMarker.get(a.marker) || 0) + 1);
      const scale = scaleOfMarker.get(a.marker) || "";
      perScale.set(scale, (perScale.get(scale) || 0) + 1);
    }
    document.querySelectorAll("[data-marker-count]").forEach((el) => {
      el.textContent = perMarker.get(Number(el.dataset.markerCount)) || 0;
    });
    document.querySelectorAll("[data-scale-count]").forEach((el) => {
      el.textContent = perScale.get(el.dataset.scaleCount) || 0;
    });
  }

  function unitElFor(a) {
    return unitEls.find((el) => unitIdOf(el) === (segmentMode ? a.segment : a.turn));
  }

  // ---- moving between units ------------------------------------------------------------

  function visible(el) {
    return !el.hidden;
  }

  let positionTimer = null;
  function select(index, { scroll = true, focus = true } = {}) {
    if (unitEls.length === 0) return;
    index = Math.max(0, Math.min(unitEls.length - 1, index));
    unitEls[current] && unitEls[current].classList.remove("current");
    current = index;
    const el = unitEls[current];
    el.classList.add("current");
    if (scroll) el.scrollIntoView({ block: "nearest" });
    if (focus && document.activeElement !== commandEl) el.focus({ preventScroll: true });
    if (editable) {
      clearTimeout(positionTimer);
      positionTimer = setTimeout(() => {
        fetch(page.api.position, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          credentials: "same-origin",
          body: JSON.stringify({ position: Number(el.dataset.position) }),
        }).catch(() => {});
      }, 400);
    }
  }

  function step(delta) {
    let i = current + delta;
    while (i >= 0 && i < unitEls.length && !visible(unitEls[i])) i += delta;
    if (i >= 0 && i < unitEls.length) select(i);
  }

  function applyFilter(name) {
    filter = name;
    document.querySelectorAll("[data-filter]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.filter === name));
    });
    for (const el of unitEls) {
      el.hidden =
        (name === "codable" && !el.classList.contains("codable")) ||
        (name === "coded" && !el.classList.contains("coded"));
    }
    if (!visible(unitEls[current])) {
      const next = unitEls.findIndex(visible);
      if (next >= 0) select(next);
    }
  }

  // ---- applying markers ----------------------------------------------------------------

  function matchMarkers(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const all = structure.markers.filter((m) => markerFits(m));
    const byNumber = all.filter((m) => m.number != null && String(m.number) === q);
    if (byNumber.length) return byNumber;
    const byCode = all.filter((m) => m.code.toLowerCase() === q || m.shortcut.toLowerCase() === q);
    if (byCode.length) return byCode;
    const words = q.split(/\s+/);
    return all.filter((m) => {
      const hay = (m.name + " " + m.code + " " + m.description).toLowerCase();
      return words.every((w) => hay.includes(w));
    });
  }

  function markerFits(m) {
    const el = unitEls[current];
    if (!el) return false;
    if (segmentMode) return m.unit === "segment";
    if (m.unit === "segment") return false;
    if (m.unit === "patient_turn") return el.classList.contains("role-patient");
    if (m.unit === "therapist_turn") return el.classList.contains("role-therapist");
    return true;
  }

  function parseCommand(text) {
    // "24" or "dismiss" or, for rated markers, "2 4" (marker 2, salience 4).
    const trimmed = text.trim();
    const rated = trimmed.match(/^(.*\S)\s+(\d+)$/);
    if (rated) {
      const found = matchMarkers(rated[1]);
      if (found.length === 1 && found[0].value_kind === "rating") {
        return { matches: found, value: Number(rated[2]) };
      }
    }
    return { matches: matchMarkers(trimmed), value: null };
  }

  function updateHint() {
    if (!commandEl) return;
    if (pendingSalience) {
      hintEl.textContent = `${pendingSalience.name}: type the salience (${pendingSalience.rating_min}-${pendingSalience.rating_max})`;
      return;
    }
    const { matches } = parseCommand(commandEl.value);
    if (!commandEl.value.trim()) hintEl.textContent = "";
    else if (matches.length === 0) hintEl.textContent = "No marker fits this unit.";
    else if (matches.length === 1) hintEl.textContent = "Enter: " + describe(matches[0]);
    else hintEl.textContent = matches.length + " markers match: " + matches.slice(0, 4).map(describe).join("; ");
  }

  function unitName(el) {
    return (segmentMode ? "segment " : "turn ") + (Number(el.dataset.position) + 1);
  }

  function describe(m) {
    return (m.number != null ? m.number + " " : "") + m.name;
  }

  function currentSpan() {
    const el = unitEls[current];
    const textEl = el && el.querySelector(".turn-text");
    const sel = window.getSelection();
    if (!textEl || !sel || sel.isCollapsed || sel.rangeCount === 0) return null;
    const range = sel.getRangeAt(0);
    if (!textEl.contains(range.startContainer) || !textEl.contains(range.endContainer)) return null;
    const pre = document.createRange();
    pre.selectNodeContents(textEl);
    pre.setEnd(range.startContainer, range.startOffset);
    const start = pre.toString().length;
    const end = start + range.toString().length;
    return end > start ? [start, end] : null;
  }

  async function applyMarker(marker, value) {
    const el = unitEls[current];
    if (!el || !editable) return;
    if (!markerFits(marker)) {
      setStatus(describe(marker) + " does not apply to this unit", "error");
      return;
    }
    if (marker.value_kind === "rating" && value == null) {
      pendingSalience = marker;
      updateHint();
      commandEl && commandEl.focus();
      return;
    }
    const span = segmentMode ? null : currentSpan();
    const body = { marker: marker.id, value: value };
    if (segmentMode) body.segment = unitIdOf(el);
    else body.turn = unitIdOf(el);
    if (span) {
      body.span_start = span[0];
      body.span_end = span[1];
    }
    // Show it at once; the save queue confirms it (or the banner explains why not).
    const tempId = "tmp-" + Math.random().toString(36).slice(2);
    const existing = Array.from(applications.values()).find(
      (a) => a.marker === marker.id && unitKey(a) === (segmentMode ? "s" : "t") + unitIdOf(el)
    );
    const record = existing || { id: tempId, marker: marker.id, turn: body.turn || null, segment: body.segment || null, note: "" };
    // Applying a marker again updates it; its note is kept unless changed with n.
    if (existing && existing.note) body.note = existing.note;
    record.value = value;
    record.span = span;
    if (!existing) applications.set(tempId, record);
    renderChips(el);
    renderCounts();
    const result = await save({ url: page.api.markers, method: "POST", body, label: "apply " + describe(marker) + " to " + unitName(el) });
    if (!existing) {
      applications.delete(tempId);
      if (result && result.id) {
        record.id = result.id;
        if (record.removed) {
          // Removed while it was being saved: remove it on the server too.
          await save({ url: page.api.markers + result.id + "/", method: "DELETE", label: "remove " + describe(marker) + " from " + unitName(el) });
        } else {
          applications.set(result.id, record);
        }
      } else if (conflicted) {
        applications.set(tempId, record); // shown until reload; the banner explains
      }
      renderChips(el);
      renderCounts();
    }
    refreshDerived();
  }

  async function removeApplication(id) {
    const a = applications.get(id);
    if (!a || !editable) return;
    applications.delete(id);
    const el = unitElFor(a);
    if (el) renderChips(el);
    renderCounts();
    if (typeof id === "number") {
      const label = "remove " + describe(markers.get(a.marker)) + (el ? " from " + unitName(el) : "");
      await save({ url: page.api.markers + id + "/", method: "DELETE", label });
    } else {
      a.removed = true; // still being saved: applyMarker removes it once it has an id
    }
    refreshDerived();
  }

  async function noteOnLast() {
    const el = unitEls[current];
    const list = el ? chipsFor(el) : [];
    if (!list.length || !editable) return;
    const a = list[list.length - 1];
    const text = window.prompt("Note on " + describe(markers.get(a.marker)), a.note || "");
    if (text === null) return;
    a.note = text;
    renderChips(el);
    const body = { marker: a.marker, value: a.value, note: text };
    if (a.turn) body.turn = a.turn;
    if (a.segment) body.segment = a.segment;
    if (a.span) {
      body.span_start = a.span[0];
      body.span_end = a.span[1];
    }
    await save({ url: page.api.markers, method: "POST", body, label: "note on " + describe(markers.get(a.marker)) + " in " + unitName(el) });
  }

  // ---- ratings, classification, notes --------------------------------------------------

  function showRatings(ratings) {
    document.querySelectorAll("fieldset.rating input:checked").forEach((input) => {
      input.checked = false;
    });
    for (const r of ratings) {
      const selector = r.segment
        ? `fieldset[data-item-id="${r.item}"][data-segment-id="${r.segment}"]`
        : `fieldset.rating[data-item-id="${r.item}"]:not([data-segment-id])`;
      const fs = document.querySelector(selector);
      const input = fs && fs.querySelector(`input[value="${r.value}"]`);
      if (input) input.checked = true;
    }
  }

  function initRatings() {
    showRatings(page.coding.ratings);
    document.querySelectorAll("fieldset.rating input[type=radio]").forEach((input) => {
      input.addEventListener("change", () => {
        const fs = input.closest("fieldset");
        const body = { item: Number(fs.dataset.itemId), value: Number(input.value) };
        if (fs.dataset.segmentId) body.segment = Number(fs.dataset.segmentId);
        const unitEl = fs.closest(".unit");
        const label =
          fs.querySelector("legend").textContent.replace(/\s*required\s*$/, "").trim() + " " + input.value +
          (unitEl ? " in " + unitName(unitEl) : "");
        save({ url: page.api.ratings, method: "PUT", body, label }).then(refreshDerived);
      });
    });
  }

  function showClassifications(choices) {
    document.querySelectorAll(".classification input:checked").forEach((input) => {
      input.checked = false;
    });
    for (const c of choices) {
      const input = document.querySelector(
        `[data-classification-id="${c.classification}"] input[value="${c.category}"]`
      );
      if (input) input.checked = true;
    }
  }

  function initClassifications() {
    showClassifications(page.coding.classifications);
    document.querySelectorAll(".classification input[type=radio]").forEach((input) => {
      input.addEventListener("change", () => {
        const section = input.closest(".classification");
        save({
          url: page.api.classification,
          method: "PUT",
          body: { classification: Number(section.dataset.classificationId), category: Number(input.value) },
          label: section.querySelector("h2").firstChild.textContent.trim() + ": " + input.parentElement.textContent.trim(),
        });
      });
    });
    renderDerived(page.coding.derived);
  }

  function renderDerived(derived) {
    for (const d of derived || []) {
      const box = document.querySelector(`[data-derived-for="${d.classification}"]`);
      if (!box) continue;
      const section = box.closest(".classification");
      const cat = section.querySelector(`input[value="${d.category}"]`);
      const name = cat ? cat.parentElement.textContent.trim() : null;
      box.textContent = name ? `Rule suggests: ${name}` : "Rule suggests no category";
      if (d.reason) {
        const reason = document.createElement("span");
        reason.className = "reason";
        reason.textContent = " · " + d.reason;
        box.appendChild(reason);
      }
    }
  }

  let derivedTimer = null;
  function refreshDerived() {
    if (!structure.classifications.some((c) => c.derivation)) return;
    clearTimeout(derivedTimer);
    derivedTimer = setTimeout(async () => {
      const response = await fetch(page.api.coding, { credentials: "same-origin" }).catch(() => null);
      if (response && response.ok) renderDerived((await response.json()).derived);
    }, 500);
  }

  // Notes are saved 600 ms after the last keystroke, or at once when the coder leaves the
  // box, submits or closes the page.
  let notesTimer = null;

  function flushNotes() {
    if (notesTimer === null) return;
    clearTimeout(notesTimer);
    notesTimer = null;
    save({ url: page.api.notes, method: "PUT", body: { notes: notesEl.value }, label: "notes" });
  }

  function initNotes() {
    if (!notesEl || !editable) return;
    notesEl.addEventListener("input", () => {
      const draft = loadDraft();
      draft.notes = notesEl.value;
      localStorage.setItem(draftKey, JSON.stringify(draft));
      setStatus("Unsaved notes…", "saving");
      clearTimeout(notesTimer);
      notesTimer = setTimeout(flushNotes, 600);
    });
    notesEl.addEventListener("blur", flushNotes);
  }

  // Changes that did not reach the server (a conflict, or the tab closed while saving) are
  // listed after the next load, and kept on this computer until the coder applies them
  // again against the newest version or discards them.
  const unsavedKey = "coding-unsaved-" + page.assignment;
  const restoreBanner = document.getElementById("restore-banner");

  function restoreDraft() {
    const draft = loadDraft();
    localStorage.removeItem(draftKey);
    let ops = [];
    try {
      ops = JSON.parse(localStorage.getItem(unsavedKey) || "[]");
    } catch (err) {
      ops = [];
    }
    ops = ops.concat(draft.ops || []);
    const parts = [];
    if (draft.notes !== undefined && notesEl && draft.notes !== notesEl.value && editable) {
      parts.push("Your notes were restored from this computer and saved.");
      notesEl.value = draft.notes;
      save({ url: page.api.notes, method: "PUT", body: { notes: draft.notes }, label: "notes" });
    }
    if (ops.length) {
      parts.push(
        "Not saved: " + ops.map((o) => o.label || o.method).join("; ") + "." +
          (editable ? "" : " The coding is locked now, so they cannot be applied.")
      );
    }
    if (!parts.length) return;
    document.getElementById("restore-text").textContent = parts.join(" ");
    const actions = document.getElementById("restore-actions");
    actions.hidden = !(ops.length && editable);
    restoreBanner.hidden = false;
    if (ops.length && editable) localStorage.setItem(unsavedKey, JSON.stringify(ops));
    else localStorage.removeItem(unsavedKey);
    document.getElementById("restore-apply").onclick = async () => {
      closeRestore();
      await Promise.all(ops.map((op) => save(op)));
      await reloadCoding();
    };
    document.getElementById("restore-discard").onclick = closeRestore;
  }

  function closeRestore() {
    localStorage.removeItem(unsavedKey);
    restoreBanner.hidden = true;
    unitEls[current] && unitEls[current].focus();
  }

  // Show the coding as the server has it now (after changes were applied again).
  async function reloadCoding() {
    const response = await fetch(page.api.coding, { credentials: "same-origin" }).catch(() => null);
    if (!response || !response.ok) return;
    const coding = await response.json();
    applications.clear();
    coding.markers.forEach((a) => applications.set(a.id, a));
    unitEls.forEach(renderChips);
    renderCounts();
    showRatings(coding.ratings);
    showClassifications(coding.classifications);
    renderDerived(coding.derived);
  }

  // ---- submit --------------------------------------------------------------------------

  async function submit() {
    if (!editable) return;
    flushNotes();
    await new Promise((resolve) => {
      const wait = () => (queue.length === 0 && !busy ? resolve() : setTimeout(wait, 100));
      wait();
    });
    if (conflicted) return;
    const box = document.getElementById("submit-problems");
    let response = null;
    submitButton.disabled = true;
    try {
      response = await fetch(page.api.submit, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        credentials: "same-origin",
        body: JSON.stringify({ base_revision: revision }),
      });
    } catch (err) {
      response = null;
    }
    submitButton.disabled = false;
    if (response === null) {
      box.hidden = false;
      box.textContent = "The server could not be reached: the coding is not submitted yet. Try again in a moment.";
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (response.ok) {
      box.hidden = true;
      document.getElementById("state-badge").textContent = "Submitted";
      setStatus("Submitted: the coding is locked", "ok");
      window.location.reload();
      return;
    }
    if (response.status === 409 && data.error && data.error.code === "conflict") {
      showConflict(data.error.message);
      return;
    }
    box.hidden = false;
    box.textContent = data.error ? data.error.message : "The coding could not be submitted.";
    box.focus && box.focus();
  }

  // ---- player ----------------------------------------------------------------------------

  function initPlayer() {
    const timed = Array.from(document.querySelectorAll("[data-start]")).filter(
      (el) => el.dataset.start !== "" && el.classList.contains("turn")
    );
    document.querySelectorAll(".unit").forEach((el, i) => {
      el.addEventListener("click", (event) => {
        if (event.target.closest("button, input, label, a")) return;
        if (window.getSelection && !window.getSelection().isCollapsed) {
          select(i, { scroll: false, focus: false });
          return;
        }
        select(i, { scroll: false });
        const turn = event.target.closest(".turn[data-start]");
        const start = turn && turn.dataset.start !== "" ? turn.dataset.start : el.dataset.start;
        if (player && start !== undefined && start !== "") player.currentTime = Number(start);
      });
    });
    if (!player) return;
    let lastActive = null;
    player.addEventListener("timeupdate", () => {
      const t = player.currentTime;
      let active = null;
      for (const el of timed) {
        if (Number(el.dataset.start) <= t) active = el;
        else break;
      }
      if (active !== lastActive) {
        lastActive && lastActive.classList.remove("playing");
        if (active) {
          active.classList.add("playing");
          if (!player.paused) active.scrollIntoView({ block: "nearest" });
        }
        lastActive = active;
      }
    });
  }

  function togglePlay() {
    if (!player) return;
    if (player.paused) player.play();
    else player.pause();
  }

  function seekBy(seconds) {
    if (player) player.currentTime = Math.max(0, player.currentTime + seconds);
  }

  // ---- keyboard --------------------------------------------------------------------------

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "radio" && target.type !== "checkbox"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const help = document.getElementById("help-dialog");
    if (help.open) return;
    if (event.target === commandEl) return; // handled below
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const key = event.key;
    const choices = event.target.closest && event.target.closest("fieldset.rating, .classification");
    if (choices) {
      // On a rating, a digit picks that point of the scale; arrows and space move between
      // the choices as in any radio group.
      if (/^[0-9]$/.test(key) && choices.matches("fieldset.rating")) {
        event.preventDefault();
        const input = choices.querySelector(`input[value="${key}"]`);
        if (input && !input.disabled) {
          input.focus();
          if (!input.checked) {
            input.checked = true;
            input.dispatchEvent(new Event("change", { bubbles: true }));
          }
        }
        return;
      }
      if (key.startsWith("Arrow") || key === " ") return;
    }
    if (key === "j" || key === "ArrowDown") { event.preventDefault(); step(1); }
    else if (key === "k" || key === "ArrowUp") { event.preventDefault(); step(-1); }
    else if (key === "?") { event.preventDefault(); help.showModal(); }
    else if (key === "/") { event.preventDefault(); searchEl.focus(); }
    else if (key === "f") { event.preventDefault(); cycleFilter(); }
    else if (key === "p") { event.preventDefault(); togglePlay(); }
    else if (key === ",") { event.preventDefault(); seekBy(-5); }
    else if (key === ".") { event.preventDefault(); seekBy(5); }
    else if (key === "n") { event.preventDefault(); noteOnLast(); }
    else if (commandEl && /^[0-9a-zA-Z]$/.test(key)) {
      // Typing a marker number or letters goes straight to the command box.
      event.preventDefault();
      commandEl.focus();
      if (pendingSalience && /^[0-9]$/.test(key)) {
        finishSalience(Number(key));
        return;
      }
      commandEl.value = key;
      updateHint();
    }
  });

  function cycleFilter() {
    const names = segmentMode ? ["all", "coded"] : ["all", "codable", "coded"];
    applyFilter(names[(names.indexOf(filter) + 1) % names.length]);
  }

  function finishSalience(value) {
    const marker = pendingSalience;
    pendingSalience = null;
    commandEl.value = "";
    if (value < marker.rating_min || value > marker.rating_max) {
      hintEl.textContent = `Salience must be ${marker.rating_min}-${marker.rating_max}.`;
      return;
    }
    hintEl.textContent = "";
    applyMarker(marker, value);
  }

  if (commandEl) {
    commandEl.addEventListener("input", updateHint);
    commandEl.addEventListener("keydown", (event) => {
      if (event.key === "?" && commandEl.value === "" && !pendingSalience) {
        event.preventDefault();
        document.getElementById("help-dialog").showModal();
        return;
      }
      if (pendingSalience && /^[0-9]$/.test(event.key)) {
        event.preventDefault();
        finishSalience(Number(event.key));
        return;
      }
      if (event.key === "Enter") {
        event.preventDefault();
        const { matches, value } = parseCommand(commandEl.value);
        if (matches.length === 1) {
          commandEl.value = "";
          hintEl.textContent = "";
          applyMarker(matches[0], value);
        } else {
          updateHint();
        }
      } else if (event.key === "Escape") {
        pendingSalience = null;
        commandEl.value = "";
        hintEl.textContent = "";
        unitEls[current] && unitEls[current].focus();
      } else if (event.key === "Backspace" && commandEl.value === "") {
        event.preventDefault();
        const list = chipsFor(unitEls[current]);
        if (list.length) removeApplication(list[list.length - 1].id);
      } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && commandEl.value === "") {
        event.preventDefault();
        step(event.key === "ArrowDown" ? 1 : -1);
        commandEl.focus();
      }
    });
  }

  searchEl.addEventListener("input", () => {
    const q = searchEl.value.trim().toLowerCase();
    document.querySelectorAll("#codebook .marker").forEach((button) => {
      const m = markers.get(Number(button.dataset.markerId));
      const hay = (m.number + " " + m.name + " " + m.code + " " + m.description).toLowerCase();
      button.parentElement.hidden = q !== "" && !hay.includes(q);
    });
  });
  searchEl.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      searchEl.value = "";
      searchEl.dispatchEvent(new Event("input"));
      unitEls[current] && unitEls[current].focus();
    }
  });

  document.querySelectorAll("#codebook .marker").forEach((button) => {
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the text selection
    button.addEventListener("click", () => applyMarker(markers.get(Number(button.dataset.markerId)), null));
  });
  document.querySelectorAll("[data-filter]").forEach((b) => {
    b.addEventListener("click", () => applyFilter(b.dataset.filter));
  });
  document.getElementById("help-button").addEventListener("click", () => {
    document.getElementById("help-dialog").showModal();
  });
  document.getElementById("reload-button").addEventListener("click", () => window.location.reload());
  const submitButton = document.getElementById("submit-button");
  if (submitButton) submitButton.addEventListener("click", submit);

  // ---- start -------------------------------------------------------------------------------

  unitEls.forEach(renderChips);
  renderCounts();
  initRatings();
  initClassifications();
  initNotes();
  initPlayer();
  restoreDraft();
  const fromHash = window.location.hash.match(/^#unit-(\d+)$/);
  const start = fromHash ? Number(fromHash[1]) : page.last_position;
  const startIndex = start != null ? unitEls.findIndex((el) => Number(el.dataset.position) === start) : -1;
  const firstCodable = unitEls.findIndex((el) => segmentMode || el.classList.contains("codable"));
  select(startIndex >= 0 ? startIndex : Math.max(firstCodable, 0));
  setStatus(editable ? "All changes saved" : "Read only", "ok");
})();
