/* The item browser of abe-clip's report.html: plain browser JavaScript, no network, no dependencies.
   Data: window.REPORT_ITEMS (column-wise item table, see src/eval/html/page.ts) and window.REPORT_META. */
(function () {
  'use strict';
  var T = window.REPORT_ITEMS;
  var META = window.REPORT_META;
  var UI = window.ReportUI, byId = UI.byId, el = UI.el;
  var n = T.id.length;
  var others = T.configs.filter(function (c) { return c !== META.baseline; });
  var state = { kind: 'all', split: 'all', config: others[0] || META.baseline, outcome: 'all', sort: 'id', page: 0 };

  UI.fill(byId('f-kind'), ['all'].concat(T.kinds));
  UI.fill(byId('f-split'), ['all'].concat(T.splits));
  UI.fill(byId('f-config'), others.length ? others : [META.baseline]);
  byId('baseline-name').textContent = META.baseline;

  function right(cfg, i) { return T.right[cfg].charCodeAt(i) === 49; }
  function margin(cfg, i) { return T.scores[cfg][2 * i] - T.scores[cfg][2 * i + 1]; }
  function outcome(i) {
    var a = right(META.baseline, i), b = right(state.config, i);
    if (a && b) return 'both-right';
    if (!a && !b) return 'both-wrong';
    return b ? 'fixed' : 'broke';
  }

  function selected() {
    var kind = state.kind === 'all' ? -1 : T.kinds.indexOf(state.kind);
    var split = state.split === 'all' ? -1 : T.splits.indexOf(state.split);
    var out = [];
    for (var i = 0; i < n; i++) {
      if (kind >= 0 && T.kind[i] !== kind) continue;
      if (split >= 0 && T.split[i] !== split) continue;
      if (state.outcome !== 'all' && outcome(i) !== state.outcome) continue;
      out.push(i);
    }
    if (state.sort !== 'id') {
      var sign = state.sort === 'margin-asc' ? 1 : -1;
      out.sort(function (a, b) { return sign * (margin(state.config, a) - margin(state.config, b)) || a - b; });
    }
    return out;
  }

  function scoresTable(i) {
    var t = el('table', { class: 'scores' });
    var head = el('tr');
    head.appendChild(el('th', { scope: 'col' }, 'caption'));
    T.configs.forEach(function (c) { head.appendChild(el('th', { scope: 'col' }, c)); });
    t.appendChild(head);
    [['positive', T.pos[i], 0], ['negative', T.neg[i], 1]].forEach(function (row) {
      var tr = el('tr', { class: row[0] });
      var th = el('th', { scope: 'row' });
      th.appendChild(el('span', { class: 'tag' }, row[0]));
      th.appendChild(document.createTextNode(' ' + T.captions[row[1]]));
      tr.appendChild(th);
      T.configs.forEach(function (c) {
        var v = T.scores[c][2 * i + row[2]];
        tr.appendChild(el('td', { class: 'num' + (right(c, i) ? ' right' : ' wrong') }, v.toFixed(4)));
      });
      t.appendChild(tr);
    });
    return t;
  }

  function item(i) {
    var li = el('li', { class: 'item ' + outcome(i), 'data-id': T.id[i], 'data-outcome': outcome(i) });
    var img = el('img', { src: T.images[T.image[i]], alt: 'image of ' + T.id[i], loading: 'lazy', width: '96', height: '96' });
    li.appendChild(img);
    var body = el('div', { class: 'body' });
    var h = el('h3', {}, T.id[i] + ' ');
    h.appendChild(el('span', { class: 'meta' }, T.kinds[T.kind[i]] + ' · ' + T.splits[T.split[i]]));
    h.appendChild(el('span', { class: 'badge ' + outcome(i) }, outcome(i).replace('-', ' ')));
    body.appendChild(h);
    body.appendChild(scoresTable(i));
    var ov = T.overlays[T.id[i]];
    if (ov) {
      var b = el('button', { type: 'button', class: 'explain', 'data-overlay': ov }, 'explain overlay');
      b.addEventListener('click', function () { openOverlay(T.id[i], ov); });
      body.appendChild(b);
    }
    li.appendChild(body);
    return li;
  }

  function openOverlay(id, src) {
    byId('overlay-caption').textContent = id + ': where each phrase is found (positive and negative caption per configuration)';
    byId('overlay-img').src = src;
    byId('overlay-img').alt = 'explain overlay of ' + id;
    byId('overlay').showModal();
  }

  UI.pagedList({
    state: state, noun: 'items', total: function () { return n; }, selected: selected, row: item,
    bindings: [['f-kind', 'kind'], ['f-split', 'split'], ['f-config', 'config'], ['f-outcome', 'outcome'], ['f-sort', 'sort']],
  });
})();
