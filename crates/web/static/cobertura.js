// Coverage map: one circle per municipality at its head town; red where there is a gap.
(function () {
  var el = document.getElementById('mapa-cobertura');
  var data = document.getElementById('datos-cobertura');
  if (!el || !data || typeof L === 'undefined') return;
  var rows = JSON.parse(data.textContent).filter(function (r) { return r.lat !== null && r.lon !== null; });
  el.innerHTML = '';
  var map = L.map(el);
  L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
    maxZoom: 18, attribution: '© OpenStreetMap'
  }).addTo(map);
  var bounds = [];
  rows.forEach(function (r) {
    var gap = r.gaps.length > 0;
    var c = L.circleMarker([r.lat, r.lon], { radius: 8, color: gap ? '#a4161a' : '#1b5e20', fillOpacity: 0.7 }).addTo(map);
    var t = document.createElement('div');
    var b = document.createElement('strong'); b.textContent = r.municipality; t.appendChild(b);
    t.appendChild(document.createElement('br'));
    t.appendChild(document.createTextNode('Unidad: ' + r.unit_status + ' · Espacios seguros: ' + r.safe_spaces));
    if (gap) { t.appendChild(document.createElement('br')); t.appendChild(document.createTextNode('Brechas: ' + r.gaps.join(', '))); }
    c.bindPopup(t);
    bounds.push([r.lat, r.lon]);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] }); else map.setView([23.6, -102.5], 5);
})();
