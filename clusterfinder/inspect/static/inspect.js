/* clusterfinder inspection page: grid, filters, keyboard decisions, storage, export.
 * Self-contained: no external asset, no network access except the optional POSTs to the
 * clusterfinder server when the page is served over http (clusterfinder inspect --serve). */
(function () {
  "use strict";
  const T0 = performance.now();
  const DATA = JSON.parse(document.getElementById("cf-data").textContent);
  const T_PARSED = performance.now();
  const COLS = DATA.columns;
  const N = DATA.n;
  const LABELS = { cluster: "cluster", not_cluster: "not a cluster", unsure: "unsure" };
  const KEY = "clusterfinder-inspect:" + DATA.catalog_id;
  const INSPECTOR_KEY = "clusterfinder-inspect:inspector";
  const SERVED = location.protocol === "http:" || location.protocol === "https:";
  const $ = (id) => document.getElementById(id);

  // ---- state -------------------------------------------------------------------------
  let decisions = {};        // candidate id -> {decision, time}
  const history = [];        // undo stack: {id, previous}
  let view = [];             // candidate indices shown, in display order
  let cur = 0;               // position of the current candidate in view
  let band = "rgb";          // "rgb" or a band name
  const bandCache = {};      // "index:band" -> data URL
  const tiles = new Map();   // candidate index -> tile element

  function openStorage() {
    try {
      const store = window.localStorage;
      store.setItem("__clusterfinder_test__", "1");
      store.removeItem("__clusterfinder_test__");
      return store;
    } catch (err) {
      return null;
    }
  }
  const storage = openStorage();

  function now() { return new Date().toISOString(); }

  function banner(text, info) {
    const el = $("banner");
    el.textContent = text;
    el.className = info ? "banner info" : "banner";
    el.hidden = !text;
  }

  function save() {
    if (storage === null) { return; }
    try {
      storage.setItem(KEY, JSON.stringify({ decisions: decisions, saved: now() }));
    } catch (err) {
      banner("Saving to browser storage failed (" + err.name + "): export your decisions now.");
    }
  }

  function load() {
    if (storage === null) {
      banner("Browser storage is unavailable: decisions will NOT survive a reload. " +
             "Export them (button or key e) before closing this page.");
      return;
    }
    try {
      const saved = JSON.parse(storage.getItem(KEY) || "null");
      if (saved && saved.decisions) { decisions = saved.decisions; }
      $("inspector").value = storage.getItem(INSPECTOR_KEY) || "";
    } catch (err) {
      banner("Could not read saved decisions from browser storage (" + err.name + ").");
    }
  }

  function postDecision(id, entry) {
    if (!SERVED) { return; }
    fetch("api/decision", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ catalog_id: DATA.catalog_id, id: id,
                             decision: entry ? entry.decision : "",
                             time: entry ? entry.time : now(),
                             inspector: $("inspector").value }),
    }).then((response) => {
      if (!response.ok) {
        // the server says why (e.g. the decision file cannot be written)
        return response.json().catch(() => ({})).then((reply) => {
          throw new Error("HTTP " + response.status + (reply.error ? ": " + reply.error : ""));
        });
      }
      return response.json();
    }).then((reply) => {
      banner("Saved on the server: " + reply.path + " (" + reply.n_decided + " decisions)", true);
    }).catch((err) => {
      banner("The server did not save the last decision (" + err.message + "): " +
             "decisions stay in browser storage; export them.");
    });
  }

  function syncFromServer() {
    if (!SERVED) { return; }
    fetch("api/decisions").then((response) => response.json()).then((record) => {
      if (record.catalog_id !== DATA.catalog_id) { return; }
      for (const [id, entry] of Object.entries(record.decisions || {})) {
        const mine = decisions[id];
        if (!mine || (entry.time || "") > (mine.time || "")) { decisions[id] = entry; }
      }
      save();
      refreshAll();
      banner("Served: every decision is written to " + record.path, true);
    }).catch(() => {});
  }

  // ---- formatting --------------------------------------------------------------------
  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
                                                      '"': "&quot;", "'": "&#39;" })[c]);
  }
  function fmt(value, digits) {
    return value === null || value === undefined || Number.isNaN(value) ? "–"
      : Number(value).toFixed(digits);
  }
  function sexagesimal(value, hours) {
    let v = hours ? value / 15 : Math.abs(value);
    const d = Math.floor(v); v = (v - d) * 60;
    const m = Math.floor(v); const s = (v - m) * 60;
    const sec = s.toFixed(hours ? 2 : 1).padStart(hours ? 5 : 4, "0");
    const sign = hours ? "" : (value < 0 ? "-" : "+");
    return sign + String(d).padStart(2, "0") + ":" + String(m).padStart(2, "0") + ":" + sec;
  }

  function stampURL(i) { return "data:image/png;base64," + DATA.stamps[i]; }

  function bandURL(i, name, done) {
    const key = i + ":" + name;
    if (bandCache[key]) { done(bandCache[key]); return; }
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = img.width; canvas.height = img.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const pixels = ctx.getImageData(0, 0, img.width, img.height);
      const d = pixels.data; const ch = DATA.channels[name];
      for (let p = 0; p < d.length; p += 4) { d[p] = d[p + 1] = d[p + 2] = d[p + ch]; }
      ctx.putImageData(pixels, 0, 0);
      bandCache[key] = canvas.toDataURL();
      done(bandCache[key]);
    };
    img.src = stampURL(i);
  }

  function showStamp(tile) {
    const i = Number(tile.dataset.index);
    const box = tile.firstElementChild;
    if (DATA.stamps[i] === null) { box.textContent = "no image"; return; }
    let img = box.firstElementChild;
    if (!img) { img = document.createElement("img"); img.alt = "stamp " + COLS.id[i]; box.appendChild(img); }
    if (band === "rgb") { img.src = stampURL(i); } else {
      bandURL(i, band, (url) => { img.src = url; });
    }
    tile.dataset.loaded = band;
  }

  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.target.dataset.loaded !== band) { showStamp(entry.target); }
    }
  }, { rootMargin: "300px" }) : null;

  function infoHTML(i) {
    const parts = ['<div class="id">' + esc(COLS.id[i]) + "</div>"];
    parts.push("P = " + fmt(COLS.prob ? COLS.prob[i] : null, 3));
    const mags = Object.entries(COLS.mag).map(([b, values]) => b + " " + fmt(values[i], 2));
    if (mags.length) { parts.push("<br>" + mags.join(" · ")); }
    parts.push("<br>" + sexagesimal(COLS.ra[i], true) + " " + sexagesimal(COLS.dec[i], false));
    if (COLS.r_proj) { parts.push("<br>r<sub>proj</sub> " + fmt(COLS.r_proj[i], 2) + " kpc"); }
    const names = Object.entries(COLS.names).filter(([, v]) => v[i]).map(([cat, v]) => esc(v[i]) + " (" + esc(cat) + ")");
    const known = (COLS.known && COLS.known[i]) || names.length;
    parts.push("<br>");
    if (known) { parts.push('<span class="badge known">known</span>' + names.join(", ")); }
    const entry = decisions[COLS.id[i]];
    if (entry) {
      parts.push('<br><span class="badge decision ' + entry.decision + '">' + LABELS[entry.decision] + "</span>");
    }
    return parts.join("");
  }

  function renderTile(i) {
    const tile = tiles.get(i);
    if (!tile) { return; }
    const entry = decisions[COLS.id[i]];
    tile.className = "tile" + (entry ? " " + entry.decision : "") + (view[cur] === i ? " current" : "");
    tile.lastElementChild.innerHTML = infoHTML(i);
  }

  function refreshAll() { for (const i of tiles.keys()) { renderTile(i); } progress(); }

  function progress() {
    const counts = { cluster: 0, not_cluster: 0, unsure: 0 };
    let decided = 0;
    for (const id of COLS.id) {
      const entry = decisions[id];
      if (entry) { decided += 1; counts[entry.decision] += 1; }
    }
    $("progress").textContent = decided + " decided / " + N + " total (" + counts.cluster +
      " cluster, " + counts.not_cluster + " not, " + counts.unsure + " unsure)";
    $("progress-bar").value = N ? decided / N : 0;
    $("shown").textContent = view.length + " shown";
  }

  // ---- filtering and sorting ---------------------------------------------------------
  function number(id) {
    const text = $(id).value.trim();
    return text === "" ? null : Number(text);
  }

  function buildView() {
    const pmin = number("prob-min"); const pmax = number("prob-max");
    const magBand = $("mag-band").value; const mmax = number("mag-max");
    const rmax = number("radius-max");
    const status = $("status-filter").value; const knownSel = $("known-select").value;
    const mags = magBand ? COLS.mag[magBand] : null;
    const out = [];
    for (let i = 0; i < N; i++) {
      const p = COLS.prob ? COLS.prob[i] : null;
      if (p !== null && ((pmin !== null && p < pmin) || (pmax !== null && p > pmax))) { continue; }
      if (mmax !== null && mags && !(mags[i] <= mmax)) { continue; }
      if (rmax !== null && COLS.r_proj && !(COLS.r_proj[i] <= rmax)) { continue; }
      const entry = decisions[COLS.id[i]];
      if (status === "undecided" && entry) { continue; }
      if (status !== "all" && status !== "undecided" && (!entry || entry.decision !== status)) { continue; }
      if (knownSel !== "all" && COLS.known && (knownSel === "known") !== Boolean(COLS.known[i])) { continue; }
      out.push(i);
    }
    const sort = $("sort").value;
    const key = {
      "prob-desc": (i) => (COLS.prob ? -COLS.prob[i] : null),
      "prob-asc": (i) => (COLS.prob ? COLS.prob[i] : null),
      "mag-asc": (i) => (mags ? mags[i] : null),
      "radius-asc": (i) => (COLS.r_proj ? COLS.r_proj[i] : null),
      "index": (i) => i,
    }[sort];
    out.sort((a, b) => {
      const ka = key(a); const kb = key(b);
      const na = ka === null || Number.isNaN(ka); const nb = kb === null || Number.isNaN(kb);
      if (na || nb) { return na === nb ? a - b : (na ? 1 : -1); }
      return ka - kb || a - b;
    });
    return out;
  }

  // Tiles are added to the grid in chunks as the end of the grid scrolls into view,
  // so that a page of thousands of candidates opens quickly.
  const CHUNK = 240;
  let rendered = 0;
  const sentinel = document.createElement("div");
  sentinel.className = "sentinel";
  const more = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) { renderMore(CHUNK); }
  }, { rootMargin: "600px" }) : null;

  function renderMore(count) {
    const stop = Math.min(view.length, rendered + count);
    if (stop <= rendered) { return; }
    const html = [];
    for (let k = rendered; k < stop; k++) {
      html.push('<div class="tile" data-index="' + view[k] + '"><div class="stamp"></div><div class="info"></div></div>');
    }
    sentinel.insertAdjacentHTML("beforebegin", html.join(""));
    let tile = sentinel.previousElementSibling;
    const added = [];
    for (let k = stop - 1; k >= rendered; k--) { added.push(tile); tile = tile.previousElementSibling; }
    rendered = stop;
    for (const el of added.reverse()) {
      const i = Number(el.dataset.index);
      tiles.set(i, el);
      renderTile(i);
      if (observer) { observer.observe(el); } else { showStamp(el); }
    }
    if (more && rendered >= view.length) { more.unobserve(sentinel); }
  }

  function rebuild() {
    const keep = view.length ? view[cur] : null;
    view = buildView();
    const grid = $("grid");
    if (observer) { observer.disconnect(); }
    if (more) { more.disconnect(); }
    tiles.clear();
    grid.innerHTML = "";
    grid.appendChild(sentinel);
    rendered = 0;
    const found = keep === null ? -1 : view.indexOf(keep);
    cur = found >= 0 ? found : 0;
    renderMore(Math.max(CHUNK, cur + 1));
    if (more) { more.observe(sentinel); } else { renderMore(view.length); }
    progress();
    const tile = tiles.get(view[cur]);
    if (tile && cur > 0) { tile.scrollIntoView({ block: "nearest" }); }
  }

  // ---- decisions and navigation ------------------------------------------------------
  function move(to) {
    if (!view.length) { return; }
    const old = view[cur];
    cur = Math.max(0, Math.min(view.length - 1, to));
    if (cur >= rendered) { renderMore(cur + 1 - rendered + CHUNK); }
    renderTile(old); renderTile(view[cur]);
    const tile = tiles.get(view[cur]);
    if (tile) { tile.scrollIntoView({ block: "nearest" }); }
  }

  function setDecision(id, entry) {
    if (entry) { decisions[id] = entry; } else { delete decisions[id]; }
    save();
    postDecision(id, entry);
  }

  function decide(decision) {
    if (!view.length) { return; }
    const i = view[cur]; const id = COLS.id[i];
    history.push({ id: id, previous: decisions[id] || null });
    setDecision(id, { decision: decision, time: now() });
    renderTile(i); progress();
    move(cur + 1);
  }

  function undo() {
    const last = history.pop();
    if (!last) { return; }
    setDecision(last.id, last.previous);
    const i = COLS.id.indexOf(last.id);
    renderTile(i); progress();
    const at = view.indexOf(i);
    if (at >= 0) { move(at); }
  }

  function columnsPerRow() {
    const first = tiles.get(view[0]);
    if (!first) { return 1; }
    const top = first.offsetTop; let n = 0;
    for (const tile of tiles.values()) { if (tile.offsetTop !== top) { break; } n += 1; }
    return Math.max(1, n);
  }

  function cycleBand() {
    const options = ["rgb"].concat(DATA.bands);
    band = options[(options.indexOf(band) + 1) % options.length];
    $("view-band").value = band;
    redrawStamps();
  }

  function redrawStamps() {
    for (const tile of tiles.values()) {
      const rect = tile.getBoundingClientRect();
      if (rect.bottom > -300 && rect.top < window.innerHeight + 300) { showStamp(tile); }
      else { delete tile.dataset.loaded; }
    }
    if (observer) { for (const tile of tiles.values()) { observer.unobserve(tile); observer.observe(tile); } }
  }

  // ---- export / import ---------------------------------------------------------------
  function exportRecord() {
    const own = {};
    for (const id of COLS.id) { if (decisions[id]) { own[id] = decisions[id]; } }
    return { format: "clusterfinder-inspection", version: 1, catalog_id: DATA.catalog_id,
             inspector: $("inspector").value, exported: now(), n_candidates: N,
             decisions: own };
  }

  function exportFile() {
    const text = JSON.stringify(exportRecord(), null, 1);
    const blob = new Blob([text], { type: "application/json" });
    const link = document.createElement("a");
    const who = ($("inspector").value || "anonymous").replace(/[^A-Za-z0-9_-]+/g, "_");
    link.download = "decisions_" + who + "_" + DATA.catalog_id.slice(0, 8) + ".json";
    link.href = URL.createObjectURL(blob);
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    return text;
  }

  function importRecord(record) {
    if (!record || record.format !== "clusterfinder-inspection") { throw new Error("not a decision file"); }
    if (record.catalog_id !== DATA.catalog_id) {
      throw new Error("catalogue id mismatch: the file was made on another catalogue");
    }
    let n = 0;
    const known = new Set(COLS.id);
    for (const [id, entry] of Object.entries(record.decisions || {})) {
      if (known.has(id) && LABELS[entry.decision]) { decisions[id] = entry; n += 1; }
    }
    save();
    refreshAll();
    return n;
  }

  // ---- wiring ------------------------------------------------------------------------
  function setup() {
    $("catalog-id").textContent = N + " candidates · catalogue " + DATA.catalog_id.slice(0, 12);
    const magBands = Object.keys(COLS.mag);
    $("mag-band").innerHTML = magBands.map((b) => '<option value="' + esc(b) + '">' + esc(b) + "</option>").join("");
    $("mag-filter").hidden = !magBands.length;
    $("radius-filter").hidden = !COLS.r_proj;
    $("known-filter").hidden = !COLS.known;
    $("view-band").innerHTML = ['<option value="rgb">colour</option>'].concat(
      DATA.bands.map((b) => '<option value="' + esc(b) + '">' + esc(b) + " only</option>")).join("");
    for (const id of ["prob-min", "prob-max", "mag-band", "mag-max", "radius-max",
                      "status-filter", "known-select", "sort"]) {
      $(id).addEventListener("change", rebuild);
    }
    $("view-band").addEventListener("change", () => { band = $("view-band").value; redrawStamps(); });
    $("inspector").addEventListener("change", () => {
      if (storage !== null) { try { storage.setItem(INSPECTOR_KEY, $("inspector").value); } catch (err) { /* banner shown on save */ } }
    });
    $("export").addEventListener("click", exportFile);
    $("help-toggle").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
    $("import").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (!file) { return; }
      file.text().then((text) => {
        const n = importRecord(JSON.parse(text));
        banner("Imported " + n + " decisions from " + file.name, true);
      }).catch((err) => banner("Import failed: " + err.message));
      event.target.value = "";
    });
    $("grid").addEventListener("click", (event) => {
      const tile = event.target.closest(".tile");
      if (tile) { move(view.indexOf(Number(tile.dataset.index))); }
    });
    document.addEventListener("keydown", (event) => {
      const tag = event.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
        if (event.key === "Escape" || event.key === "Enter") { event.target.blur(); }
        return;
      }
      if (event.altKey || event.metaKey) { return; }
      if (event.ctrlKey && event.key !== "z") { return; }
      const key = event.key;
      const actions = {
        c: () => decide("cluster"), n: () => decide("not_cluster"), u: () => decide("unsure"),
        z: undo, j: () => move(cur + 1), k: () => move(cur - 1),
        ArrowRight: () => move(cur + 1), ArrowLeft: () => move(cur - 1),
        ArrowDown: () => move(cur + columnsPerRow()), ArrowUp: () => move(cur - columnsPerRow()),
        b: cycleBand, e: exportFile, "?": () => { $("help").hidden = !$("help").hidden; },
      };
      const action = actions[key] || actions[key.toLowerCase()];
      if (action) { event.preventDefault(); action(); }
    });
  }

  load();
  setup();
  rebuild();
  syncFromServer();
  const timing = { parse_ms: T_PARSED - T0, build_ms: performance.now() - T_PARSED };
  window.clusterfinderInspect = {
    data: DATA, decisions: () => decisions, exportRecord: exportRecord, exportFile: exportFile,
    importRecord: importRecord, storageAvailable: storage !== null, view: () => view.slice(),
    current: () => (view.length ? COLS.id[view[cur]] : null), timing: timing,
  };
})();
