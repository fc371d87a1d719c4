/* Shared by abe-clip's report pages (report.js, retrieval.js): element building, select filling, and the
   filtered, paged list (a count, prev/next, 50 rows a page, filters bound to <select>s). No dependencies. */
window.ReportUI = (function () {
  'use strict';
  var PAGE = 50;
  function byId(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fill(sel, values) {
    values.forEach(function (v) {
      var o = document.createElement('option');
      o.value = v;
      o.textContent = v;
      sel.appendChild(o);
    });
  }

  /**
   * A paged list: `selected()` gives the row indices to show, `row(i)` builds one <li>; `state` holds the
   * filter values (bound to the selects in `bindings`: [elementId, stateKey]) and the page; `noun` names the rows.
   */
  function pagedList(opts) {
    var state = opts.state;
    function render() {
      var sel = opts.selected();
      var pages = Math.max(1, Math.ceil(sel.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      var count = byId('count');
      count.textContent = sel.length + ' of ' + opts.total() + ' ' + opts.noun;
      count.setAttribute('data-count', String(sel.length));
      byId('page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
      byId('prev').disabled = state.page === 0;
      byId('next').disabled = state.page >= pages - 1;
      var list = byId('items');
      list.textContent = '';
      sel.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (i) { list.appendChild(opts.row(i)); });
    }
    opts.bindings.forEach(function (p) {
      var s = byId(p[0]);
      s.value = state[p[1]];
      s.addEventListener('change', function () { state[p[1]] = s.value; state.page = 0; render(); });
    });
    byId('prev').addEventListener('click', function () { state.page--; render(); });
    byId('next').addEventListener('click', function () { state.page++; render(); });
    render();
  }

  return { byId: byId, el: el, fill: fill, pagedList: pagedList };
})();
