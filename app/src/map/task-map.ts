/**
 * The map of open tasks, loaded only when the map view is opened (its own chunk: Leaflet, its CSS
 * and supercluster stay out of the first load). Leaflet over MapLibre: about 42 kB gzip of
 * JavaScript against about 220 kB, raster tiles from any tile server, and no WebGL, so it works on
 * the cheap phones operators carry. Markers sit at each task's published position and are buttons
 * (keyboard and screen readers reach them); dense ones are clustered by supercluster. Without tiles
 * (offline, blocked) the markers still show on a blank background, and the list stays beside it.
 */
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import Supercluster, { type ClusterProperties } from 'supercluster';
import { MAP_TILE_ATTRIBUTION, MAP_TILE_URL } from '../config.ts';

export interface MapTask {
  id: string;
  title: string;
  /** "$25.00" */
  reward: string;
  lat: number;
  lng: number;
}

export interface TaskMap {
  show(tasks: MapTask[]): void;
  destroy(): void;
}

type TaskProperties = { task: MapTask };

export function createTaskMap(element: HTMLElement, centre: { lat: number; lng: number }, onOpen: (id: string) => void): TaskMap {
  const map = L.map(element, { center: [centre.lat, centre.lng], zoom: 13, zoomControl: true, keyboard: true });
  L.tileLayer(MAP_TILE_URL, { attribution: MAP_TILE_ATTRIBUTION, maxZoom: 19 }).addTo(map);
  const layer = L.layerGroup().addTo(map);
  const index = new Supercluster<TaskProperties>({ radius: 60, maxZoom: 17 });
  let fitted = false;

  const taskMarker = (task: MapTask) => {
    const label = `${task.title}, ${task.reward}`;
    const marker = L.marker([task.lat, task.lng], {
      icon: L.divIcon({ className: 'map-pin', html: '', iconSize: [64, 32], iconAnchor: [32, 32] }),
      title: label,
      keyboard: true,
    });
    marker.on('click', () => onOpen(task.id));
    marker.on('add', () => {
      const icon = marker.getElement();
      if (!icon) return;
      // Text, never markup: the title is the agent's.
      icon.textContent = task.reward;
      icon.setAttribute('aria-label', `${label}: open the task`);
      icon.dataset.taskId = task.id;
    });
    return marker;
  };

  const clusterMarker = (clusterId: number, count: number, lat: number, lng: number) => {
    const marker = L.marker([lat, lng], {
      icon: L.divIcon({ className: 'map-cluster', html: '', iconSize: [40, 40] }),
      title: `${count} tasks here`,
      keyboard: true,
    });
    marker.on('click', () => map.setView([lat, lng], Math.min(index.getClusterExpansionZoom(clusterId), 19), { animate: false }));
    marker.on('add', () => {
      const icon = marker.getElement();
      if (!icon) return;
      icon.textContent = String(count);
      icon.setAttribute('aria-label', `${count} tasks here: zoom in`);
    });
    return marker;
  };

  // Markers on the map by key (a task's id, or a cluster's id at a zoom): a redraw keeps those still
  // wanted, so a marker that has the keyboard's focus keeps it while the map moves.
  const shown = new Map<string, L.Marker>();
  const draw = () => {
    const bounds = map.getBounds();
    const box: [number, number, number, number] = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
    const zoom = Math.round(map.getZoom());
    const wanted = new Map<string, () => L.Marker>();
    for (const feature of index.getClusters(box, zoom)) {
      const [lng, lat] = feature.geometry.coordinates;
      const properties = feature.properties as TaskProperties | ClusterProperties;
      if ('cluster_id' in properties) {
        wanted.set(`cluster:${zoom}:${properties.cluster_id}`, () => clusterMarker(properties.cluster_id, properties.point_count, lat, lng));
      } else {
        wanted.set(`task:${properties.task.id}:${properties.task.lat},${properties.task.lng}`, () => taskMarker(properties.task));
      }
    }
    for (const [key, marker] of shown) {
      if (wanted.has(key)) continue;
      layer.removeLayer(marker);
      shown.delete(key);
    }
    for (const [key, make] of wanted) {
      if (shown.has(key)) continue;
      const marker = make();
      shown.set(key, marker);
      layer.addLayer(marker);
    }
  };
  map.on('moveend', draw);

  return {
    show(tasks) {
      index.load(tasks.map((task) => ({
        type: 'Feature' as const,
        geometry: { type: 'Point' as const, coordinates: [task.lng, task.lat] },
        properties: { task },
      })));
      if (!fitted && tasks.length > 0) {
        fitted = true;
        map.fitBounds(L.latLngBounds([[centre.lat, centre.lng], ...tasks.map((t): [number, number] => [t.lat, t.lng])]), { padding: [40, 40], maxZoom: 16, animate: false });
      }
      draw();
    },
    destroy: () => map.remove(),
  };
}
