(function () {
  "use strict";
  var table = document.getElementById("tenant-table");
  var form = document.getElementById("filters");
  if (!table || !form) return;
  var tbody = table.tBodies[0];
  var f = {
    risk: document.getElementById("f-risk"),
    ips: document.getElementById("f-ips"),
    env: document.getElementById("f-env"),
    code: document.getElementById("f-code"),
    ready: document.getElementById("f-ready"),
    text: document.getElementById("f-text")
  };
  var shown = document.getElementById("shown");
  // One record per tenant, read once from the rendered table (the page is the data).
  var rows = Array.prototype.map.call(tbody.rows, function (r, i) {
    var c = r.cells;
    var codes = c[6].textContent.split(/\s+/).filter(Boolean).map(function (s) {
      return s.split("@")[0];
    });
    return {
      r: r,
      i: i,
      risk: +c[0].getAttribute("data-v"),
      ips: c[2].textContent,
      env: c[3].textContent,
      codes: codes,
      ready: r.getAttribute("data-ready"),
      text: r.textContent.toLowerCase(),
      d: document.getElementById("t" + r.getAttribute("data-t"))
    };
  });
  var order = rows.slice();
  // Only the first rows that match are laid out; "Show all" lifts the limit (print ignores it).
  var page = +table.getAttribute("data-page") || Infinity;
  var limit = page;
  var more = document.getElementById("more");
  var showAll = document.getElementById("show-all");

  function apply() {
    var rv = f.risk.value, iv = f.ips.value, ev = f.env.value, cv = f.code.value;
    var yv = f.ready ? f.ready.value : "";
    var q = f.text.value.trim().toLowerCase();
    var n = 0;
    for (var k = 0; k < rows.length; k++) {
      var t = rows[k];
      var ok = (rv === "" || (rv === "ge3" ? t.risk >= 3 : t.risk === +rv)) &&
        (iv === "" || t.ips === iv) &&
        (ev === "" || t.env === ev) &&
        (cv === "" || t.codes.indexOf(cv) >= 0) &&
        (yv === "" || t.ready === yv) &&
        (q === "" || t.text.indexOf(q) >= 0);
      var paged = ok && n >= limit;
      if (t.r.classList.contains("off") === ok) t.r.classList.toggle("off", !ok);
      if (t.r.classList.contains("pg") !== paged) t.r.classList.toggle("pg", paged);
      if (t.d && t.d.classList.contains("off") === ok) t.d.classList.toggle("off", !ok);
      if (ok) n++;
    }
    var text = n + " of " + rows.length + " tenants match";
    if (n > limit) text += ", the first " + limit + " shown";
    shown.textContent = text;
    shown.setAttribute("data-shown", n);
    if (more) more.hidden = !(n > limit);
  }
  if (showAll) showAll.addEventListener("click", function () { limit = Infinity; apply(); });

  var timer = 0;
  f.text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, rows.length > 2000 ? 200 : 30);
  });
  [f.risk, f.ips, f.env, f.code, f.ready].forEach(function (s) {
    if (s) s.addEventListener("change", apply);
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { limit = page; sortBy(-1); }, 0);
  });

  // Sorting: cells with data-v sort by number (empty: always last), others by text.
  var heads = table.tHead.rows[0].cells;
  var current = -1, dir = 1;
  function key(t, col) {
    var c = t.r.cells[col];
    var v = c.getAttribute("data-v");
    if (v === null) return c.textContent.toLowerCase();
    return v === "" ? null : parseFloat(v);
  }
  function sortBy(col) {
    var list;
    if (col < 0) {
      list = order.slice();
      current = -1;
    } else {
      dir = col === current ? -dir : +heads[col].getAttribute("data-dir") || 1;
      current = col;
      var keyed = rows.map(function (t) { return { t: t, k: key(t, col) }; });
      keyed.sort(function (a, b) {
        if (a.k === null || b.k === null) {
          if (a.k === b.k) return a.t.i - b.t.i;
          return a.k === null ? 1 : -1;
        }
        if (a.k < b.k) return -dir;
        if (a.k > b.k) return dir;
        return a.t.i - b.t.i;
      });
      list = keyed.map(function (o) { return o.t; });
    }
    var frag = document.createDocumentFragment();
    list.forEach(function (t) { frag.appendChild(t.r); });
    tbody.appendChild(frag);
    rows = list;
    apply();
    for (var h = 0; h < heads.length; h++) {
      if (h === current) heads[h].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      else heads[h].removeAttribute("aria-sort");
    }
  }
  Array.prototype.forEach.call(heads, function (th, col) {
    var b = th.querySelector("button");
    if (b) b.addEventListener("click", function () { sortBy(col); });
  });

  // A tenant link opens its details; printing opens them all.
  function openTarget() {
    var id = location.hash.slice(1);
    try { id = decodeURIComponent(id); } catch (e) { /* keep it as typed */ }
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") el.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details.tenant"), function (d) {
      return !d.open;
    });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });
  document.documentElement.setAttribute("data-ready", "1");
  apply();
})();
