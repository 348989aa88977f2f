// ISNCSCI worksheet: keyboard-first entry in the paper form's order and live classification.
// Plain JavaScript, no dependencies. The server (engine) is the only place rules live: this
// file checks only the allowed cell values so a typo is caught before it leaves the keyboard.
(function () {
  "use strict";
  const sheet = document.getElementById("worksheet");
  if (!sheet) return;
  const order = sheet.dataset.entryOrder.split(",");
  const fields = new Map();
  for (const name of order) {
    const el = document.getElementById("f-" + name);
    if (el) fields.set(name, el);
  }
  const cells = order.filter((n) => fields.get(n) && fields.get(n).tagName === "INPUT");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  const ALLOWED = {
    Motor: /^(?:[0-5]|[0-4]\*{1,2}|NT\*{0,2})$/,
    Touch: /^(?:[0-2]|[01]\*{1,2}|NT\*{0,2})$/,
    Prick: /^(?:[0-2]|[01]\*{1,2}|NT\*{0,2})$/,
    Anal: /^(?:Yes|No|NT)$/,
  };
  const ALLOWED_TEXT = {
    Motor: "0-5, NT; flags 0*-4*, 0**-4**, NT*, NT**",
    Touch: "0, 1, 2, NT; flags 0*, 1*, NT*, 0**, 1**, NT**",
    Prick: "0, 1, 2, NT; flags 0*, 1*, NT*, 0**, 1**, NT**",
    Anal: "Yes, No, NT",
  };

  function errorSpan(el) {
    let span = document.getElementById("err-" + el.dataset.field);
    if (!span) {
      span = document.createElement("span");
      span.className = "err";
      span.id = "err-" + el.dataset.field;
      span.setAttribute("role", "alert");
      el.insertAdjacentElement("afterend", span);
    }
    return span;
  }
  function setError(el, text) {
    if (text) {
      el.classList.add("invalid");
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", "err-" + el.dataset.field);
      errorSpan(el).textContent = text;
    } else {
      el.classList.remove("invalid");
      el.removeAttribute("aria-invalid");
      const span = document.getElementById("err-" + el.dataset.field);
      if (span) span.remove();
    }
  }
  function checkLocal(el) {
    const kind = el.dataset.kind;
    const v = el.value.trim();
    if (!v || !ALLOWED[kind] || ALLOWED[kind].test(v)) {
      setError(el, "");
      return true;
    }
    setError(el, "“" + v + "” not allowed: " + ALLOWED_TEXT[kind]);
    return false;
  }

  function focusCell(name) {
    const el = fields.get(name);
    if (el) {
      el.focus();
      if (el.select) el.select();
    }
  }
  function move(el, step) {
    const i = order.indexOf(el.dataset.field);
    const next = order[i + step];
    if (next) focusCell(next);
    else if (step > 0) {
      const save = document.getElementById("save-exam");
      if (save) save.focus();
    }
  }
  function across(el, dir) {
    // Same row, next column to the left or right (the table's visual order).
    const row = el.closest("tr");
    if (!row) return;
    const inputs = Array.from(row.querySelectorAll("input.cell"));
    const j = inputs.indexOf(el) + dir;
    if (j >= 0 && j < inputs.length) {
      inputs[j].focus();
      inputs[j].select();
    }
  }
  function cycleFlag(value) {
    if (!value) return value;
    const base = value.replace(/\*+$/, "");
    const stars = value.length - base.length;
    return base + "*".repeat((stars + 1) % 3);
  }

  function setValue(el, v) {
    el.value = v;
    checkLocal(el);
    schedule();
  }

  function onKey(ev) {
    const el = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const kind = el.dataset.kind;
    const k = ev.key;
    if (k === "Enter" || k === "ArrowDown" || (k === "Tab" && !ev.shiftKey)) {
      ev.preventDefault();
      move(el, 1);
    } else if (k === "ArrowUp" || (k === "Tab" && ev.shiftKey)) {
      ev.preventDefault();
      move(el, -1);
    } else if (k === "ArrowLeft" || k === "ArrowRight") {
      ev.preventDefault();
      across(el, k === "ArrowLeft" ? -1 : 1);
    } else if (k === "Backspace" || k === "Delete") {
      ev.preventDefault();
      setValue(el, "");
    } else if (k === "*") {
      ev.preventDefault();
      setValue(el, cycleFlag(el.value));
    } else if (kind === "Anal") {
      ev.preventDefault();
      const map = { y: "Yes", n: "No", t: "NT" };
      const v = map[k.toLowerCase()];
      if (v) {
        setValue(el, v);
        move(el, 1);
      } else if (k.length === 1) {
        setError(el, "“" + k + "” not allowed: " + ALLOWED_TEXT.Anal);
      }
    } else if (/^[0-9]$/.test(k)) {
      ev.preventDefault();
      const max = kind === "Motor" ? 5 : 2;
      if (Number(k) > max) {
        setError(el, "“" + k + "” not allowed: " + ALLOWED_TEXT[kind]);
        return;
      }
      setValue(el, k);
      move(el, 1);
    } else if (k === "n" || k === "N") {
      ev.preventDefault();
      setValue(el, "NT");
      move(el, 1);
    } else if (k.length === 1) {
      ev.preventDefault();
      setError(el, "“" + k + "” not allowed: " + ALLOWED_TEXT[kind]);
    }
  }

  for (const name of cells) {
    const el = fields.get(name);
    el.addEventListener("keydown", onKey);
    // Pasted or otherwise typed text is checked when it changes.
    el.addEventListener("input", () => {
      checkLocal(el);
      schedule();
    });
    el.addEventListener("focus", () => el.select());
  }
  for (const side of ["right", "left"]) {
    const sel = document.getElementById("f-" + side + "LowestNonKeyMuscleWithMotorFunction");
    if (sel) sel.addEventListener("change", schedule);
  }

  // "Normal down to <level>": light touch and pin prick 2, motor 5 on both sides, C2 to level.
  const DERMS = Array.from(document.querySelectorAll("#quickfill-level option")).map((o) => o.value);
  document.getElementById("quickfill-apply").addEventListener("click", () => {
    const cut = DERMS.indexOf(document.getElementById("quickfill-level").value);
    for (const name of cells) {
      const el = fields.get(name);
      const lvl = DERMS.indexOf(el.dataset.level);
      if (lvl < 0 || lvl > cut) continue;
      el.value = el.dataset.kind === "Motor" ? "5" : "2";
      setError(el, "");
    }
    schedule();
    // Continue where the exam becomes interesting: the first blank cell in entry order.
    const blank = cells.find((n) => !fields.get(n).value);
    if (blank) focusCell(blank);
  });
  document.getElementById("clear-all").addEventListener("click", () => {
    for (const name of cells) {
      setError(fields.get(name), "");
      fields.get(name).value = "";
    }
    schedule();
    focusCell(cells[0]);
  });

  // Beside the grades (exam entry): one reason row per flagged cell, in entry order. A reason
  // typed for a cell whose flag is then removed is kept in case the flag comes back.
  const reasonTable = document.getElementById("flag-reasons");
  const keptReasons = new Map();
  function reasonRow(name) {
    const row = document.createElement("tr");
    row.dataset.cell = name;
    const th = document.createElement("th");
    th.scope = "row";
    const label = document.createElement("label");
    label.htmlFor = "reason-" + name;
    label.textContent = fields.get(name).getAttribute("aria-label");
    th.append(label);
    const value = document.createElement("td");
    value.className = "flag-value";
    const td = document.createElement("td");
    const input = document.createElement("input");
    input.type = "text";
    input.id = "reason-" + name;
    input.name = "reason:" + name;
    input.maxLength = 200;
    input.size = 40;
    input.value = keptReasons.get(name) || "";
    td.append(input);
    row.append(th, value, td);
    return row;
  }
  function syncReasons() {
    if (!reasonTable) return;
    const body = reasonTable.tBodies[0];
    const rows = new Map(Array.from(body.rows).map((r) => [r.dataset.cell, r]));
    const flagged = cells.filter((n) => fields.get(n).value.trim().endsWith("*"));
    for (const [name, row] of rows) {
      if (!flagged.includes(name)) {
        keptReasons.set(name, row.querySelector("input").value);
        row.remove();
      }
    }
    let previous = null;
    for (const name of flagged) {
      const row = rows.get(name) || reasonRow(name);
      row.querySelector(".flag-value").textContent = fields.get(name).value.trim();
      if (previous) previous.after(row);
      else body.prepend(row);
      previous = row;
    }
    document.getElementById("no-flags").hidden = flagged.length > 0;
  }

  // Live classification: the latest request wins; earlier answers arriving late are dropped.
  let timer = null;
  let seq = 0;
  function schedule() {
    syncReasons();
    clearTimeout(timer);
    timer = setTimeout(classify, 60);
  }
  function collect() {
    const data = {};
    for (const [name, el] of fields) {
      const v = el.value.trim();
      if (v) data[name] = v;
    }
    return data;
  }
  const status = document.getElementById("cls-status");
  function show(body) {
    for (const [key, value] of Object.entries(body.result)) {
      for (const out of document.querySelectorAll('[data-result="' + key + '"]')) out.textContent = value;
    }
    const ul = document.getElementById("cls-explanation");
    ul.replaceChildren(
      ...body.explanation.map((line) => {
        const li = document.createElement("li");
        li.textContent = line;
        return li;
      }),
    );
    status.textContent = body.complete
      ? "complete"
      : body.missing.length + " cells blank (counted as NT)";
    sheet.dataset.classified = String(seq);
  }
  async function classify() {
    // Filled cells are re-checked (clearing earlier messages); a blank cell keeps its message
    // for a rejected key until it is edited (a pending classification must not clear it).
    const filled = cells.map((n) => fields.get(n)).filter((el) => el.value.trim());
    if (!filled.map(checkLocal).every(Boolean)) {
      status.textContent = "fix the highlighted cells";
      return;
    }
    const mine = ++seq;
    let resp;
    try {
      resp = await fetch("/api/v1/isncsci/classify?partial=true", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(collect()),
        credentials: "same-origin",
      });
    } catch (e) {
      status.textContent = "classification unavailable (network)";
      return;
    }
    if (mine !== seq) return;
    const body = await resp.json();
    if (resp.ok) {
      show(body);
    } else if (resp.status === 422 && body.errors) {
      for (const e of body.errors) {
        const el = fields.get(e.field);
        if (el) setError(el, "“" + e.value + "” not allowed: " + e.allowed);
      }
      status.textContent = "fix the highlighted cells";
    } else {
      status.textContent = body.detail || "classification failed (" + resp.status + ")";
    }
  }

  if (cells.some((n) => fields.get(n).value)) schedule();
  if (!document.querySelector(".meta input")) focusCell(cells[0]);
})();
