/* The query browser of abe-clip's retrieval report.html: plain browser JavaScript, no network, no dependencies.
   Data: window.REPORT_ITEMS (see src/eval/html/retrieval.ts). */
(function () {
  'use strict';
  var T = window.REPORT_ITEMS;
  var UI = window.ReportUI, byId = UI.byId, el = UI.el;
  var state = { dir: 'textToImage', config: T.configs[T.configs.length - 1], rank: 'all', sort: 'order', page: 0 };
  UI.fill(byId('f-config'), T.configs);

  function count() { return state.dir === 'textToImage' ? T.captions.length : T.images.length; }
  function rank(cfg, q) { return T.ranks[cfg][state.dir][q]; }
  function isTrue(q, cand) {
    return state.dir === 'textToImage' ? T.captionImage[q] === cand : T.captionImage[cand] === q;
  }

  function selected() {
    var out = [];
    for (var q = 0; q < count(); q++) {
      var r = rank(state.config, q);
      if (state.rank === 'hit' && r !== 1) continue;
      if (state.rank === 'miss' && r === 1) continue;
      out.push(q);
    }
    if (state.sort === 'rank-desc') out.sort(function (a, b) { return rank(state.config, b) - rank(state.config, a) || a - b; });
    return out;
  }

  function query(q) {
    var li = el('li', { class: 'item', 'data-query': String(q), 'data-rank': String(rank(state.config, q)) });
    if (state.dir === 'imageToText') li.appendChild(el('img', { src: T.images[q], alt: 'query image ' + q, loading: 'lazy', width: '96', height: '96' }));
    var body = el('div', { class: 'body' });
    body.appendChild(el('h3', {}, state.dir === 'textToImage' ? '“' + T.captions[q] + '”' : T.images[q]));
    var ranks = el('p', { class: 'meta' }, 'rank of the true match: ' + T.configs.map(function (c) { return c + ' ' + rank(c, q); }).join(' · '));
    body.appendChild(ranks);
    var list = el('ol', { class: 'top' });
    T.top[state.config][state.dir === 'textToImage' ? 't2i' : 'i2t'][q].forEach(function (cand) {
      var item = el('li', { class: isTrue(q, cand) ? 'true-match' : '' });
      if (state.dir === 'textToImage') item.appendChild(el('img', { src: T.images[cand], alt: 'candidate ' + cand, loading: 'lazy', width: '48', height: '48' }));
      else item.appendChild(document.createTextNode(T.captions[cand]));
      if (isTrue(q, cand)) item.appendChild(el('span', { class: 'badge fixed' }, 'true'));
      list.appendChild(item);
    });
    body.appendChild(list);
    li.appendChild(body);
    return li;
  }

  UI.pagedList({
    state: state, noun: 'queries', total: count, selected: selected, row: query,
    bindings: [['f-dir', 'dir'], ['f-config', 'config'], ['f-rank', 'rank'], ['f-sort', 'sort']],
  });
})();
