// The public map: Leaflet (served by Violeta, never from a CDN) over OpenStreetMap
// tiles, with the espacios seguros and units of the GeoJSON feed for the page's filter.
// The page's list is plain HTML; this only adds the map. If Leaflet, the tiles or the
// feed fail, a note in Spanish says so and the list still has everything.
(function () {
  "use strict";

  var box = document.getElementById("mapa");
  if (!box) {
    return;
  }
  var note = document.getElementById("mapa-nota");

  // A note in the map box: in place of the map, or over it with a button to close it.
  function say(text, over) {
    if (!note) {
      note = document.createElement("p");
      note.id = "mapa-nota";
    }
    note.className = over ? "nota-mapa sobre" : "nota-mapa";
    note.setAttribute("role", "status");
    note.textContent = text;
    if (over) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "cerrar-nota";
      close.textContent = "Cerrar aviso";
      close.addEventListener("click", function () {
        if (note && note.parentNode) {
          note.parentNode.removeChild(note);
        }
        box.focus();
      });
      note.appendChild(document.createTextNode(" "));
      note.appendChild(close);
      // Clicks and keys on the note must not pan or zoom the map underneath.
      L.DomEvent.disableClickPropagation(note);
      L.DomEvent.disableScrollPropagation(note);
    }
    if (!note.parentNode) {
      box.appendChild(note);
    }
  }

  if (typeof window.L === "undefined" || !window.fetch) {
    say("No se pudo cargar el mapa en este navegador. Todos los lugares están en la lista de esta página.", false);
    return;
  }
  var L = window.L;

  if (note && note.parentNode) {
    note.parentNode.removeChild(note);
  }
  note = null;

  var map = L.map(box, { center: [23.6, -102.5], zoom: 5, keyboard: true });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
  var tiles = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
  }).addTo(map);

  var tileErrors = 0;
  var warned = false;
  tiles.on("tileerror", function () {
    tileErrors += 1;
    if (!warned && tileErrors >= 2) {
      warned = true;
      say("No se pudieron cargar las imágenes del mapa (puede no haber conexión). Los marcadores y la lista de esta página siguen disponibles.", true);
    }
  });

  function line(parent, text, strong) {
    if (!text) {
      return;
    }
    var el = document.createElement(strong ? "strong" : "div");
    el.textContent = text;
    parent.appendChild(el);
    if (strong) {
      parent.appendChild(document.createElement("br"));
    }
  }

  // Popups are built with textContent: names and addresses are never read as HTML.
  function popup(p) {
    var div = document.createElement("div");
    line(div, p.nombre, true);
    if (p.tipo === "espacio_seguro") {
      line(div, "Espacio seguro · " + p.clase);
      line(div, p.domicilio);
      line(div, p.municipio + ", " + p.entidad);
      line(div, "Horario: " + p.horario);
      if (p.abierto_ahora === true) {
        line(div, "Abierto ahora");
      } else if (p.abierto_ahora === false) {
        line(div, "Cerrado ahora");
      }
      var more = document.createElement("a");
      more.href = "#espacio-" + p.id;
      more.textContent = "Ver en la lista";
      div.appendChild(more);
    } else {
      line(div, "Unidad de reacción inmediata");
      line(div, p.municipio + ", " + p.entidad);
      if (p.telefono) {
        var tel = document.createElement("a");
        tel.href = "tel:" + p.telefono.replace(/[^0-9+]/g, "");
        tel.textContent = "Teléfono: " + p.telefono;
        div.appendChild(tel);
      }
    }
    return div;
  }

  var unitIcon = L.divIcon({ className: "marcador-unidad", iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -8] });

  fetch(box.getAttribute("data-geojson"), { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    })
    .then(function (data) {
      var points = [];
      (data.features || []).forEach(function (f) {
        if (!f.geometry || f.geometry.type !== "Point") {
          return; // a unit whose head town has no coordinates: it is in the list
        }
        var lon = f.geometry.coordinates[0];
        var lat = f.geometry.coordinates[1];
        var p = f.properties || {};
        var unit = p.tipo === "unidad_reaccion";
        var label = (unit ? "Unidad de reacción: " : "Espacio seguro: ") + p.nombre;
        var options = { title: label, alt: label, keyboard: true };
        if (unit) {
          options.icon = unitIcon;
          options.zIndexOffset = 500;
        }
        L.marker([lat, lon], options).bindPopup(popup(p)).addTo(map);
        points.push([lat, lon]);
      });
      if (points.length === 1) {
        map.setView(points[0], 15);
      } else if (points.length > 1) {
        map.fitBounds(points, { padding: [24, 24], maxZoom: 15 });
      } else {
        say("No hay lugares que mostrar en el mapa con estos filtros.", true);
      }
      box.setAttribute("data-marcadores", String(points.length));
    })
    .catch(function () {
      say("No se pudieron cargar los lugares en el mapa. Todos están en la lista de esta página.", true);
    });
})();
