/**
 * Open tasks: nearby physical tasks nearest first (the browser's location, or a place typed in when
 * location is refused), remote digital tasks in their own tab; filters, paging, pull to refresh.
 */
import { CATEGORIES, TASK_TYPES, type OpenTask, type OperatorProfile } from '@humanops/sdk/operator';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { KycNotice } from '../components/kyc-notice.tsx';
import { LoadFailed } from '../components/load-failed.tsx';
import { TaskMapView } from '../components/task-map-view.tsx';
import { km, timeLeft, usd } from '../format.ts';
import { typeName } from '../task-types.ts';
import { useFocusOnMount, useNow } from '../hooks.ts';
import { explain } from '../messages.ts';
import { href } from '../router.ts';

type Tab = 'nearby' | 'remote';
interface Place {
  lat: number;
  lng: number;
  label: string;
}

const PAGE = 20;
const PLACE_KEY = 'humanops.place';

export function Feed({ profile, onProfileChanged }: { profile: OperatorProfile; onProfileChanged: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('feed');
  if (profile.kyc_status !== 'VERIFIED') {
    // Open tasks are shown to verified operators only: say why, and let them check again.
    return (
      <section class="screen" aria-labelledby="feed-title">
        <h1 id="feed-title" tabIndex={-1} ref={heading}>Tasks</h1>
        <KycNotice profile={profile} />
        <button onClick={onProfileChanged}>Check my status again</button>
      </section>
    );
  }
  return <OpenTasks profile={profile} />;
}

function OpenTasks({ profile }: { profile: OperatorProfile }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('open-tasks');
  const [tab, setTab] = useState<Tab>('nearby');
  const [view, setView] = useState<'list' | 'map'>('list');
  const [place, setPlace] = useState<Place | null>(() => JSON.parse(sessionStorage.getItem(PLACE_KEY) ?? 'null'));
  const [locating, setLocating] = useState<'idle' | 'asking' | 'denied'>('idle');
  const [filters, setFilters] = useState({ task_type: '', radius_km: '25', min_reward: '' });
  const [tasks, setTasks] = useState<OpenTask[]>([]);
  const [total, setTotal] = useState(0);
  // The API counts open tasks up to a cap (total_exact false beyond it) and says whether more follow.
  const [totalExact, setTotalExact] = useState(true);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const locate = useCallback(() => {
    if (!('geolocation' in navigator)) return setLocating('denied');
    setLocating('asking');
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const here = { lat: position.coords.latitude, lng: position.coords.longitude, label: 'your location' };
        sessionStorage.setItem(PLACE_KEY, JSON.stringify(here));
        setPlace(here);
        setLocating('idle');
      },
      () => setLocating('denied'),
      { enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 },
    );
  }, []);

  useEffect(() => {
    if (!place) locate();
  }, []);

  // Only the latest request may fill the list: switching tab or filters while a page is on its way
  // must not let the older, slower answer overwrite the newer one.
  const latest = useRef(0);
  const load = useCallback(async (offset: number) => {
    if (tab === 'nearby' && !place) return;
    const request = ++latest.current;
    setLoading(true);
    setError(null);
    try {
      const page = await api.tasks.list({
        ...(tab === 'nearby' && place ? { lat: place.lat, lng: place.lng, radius_km: Number(filters.radius_km) } : {}),
        task_domain: tab === 'nearby' ? 'PHYSICAL' : 'DIGITAL',
        ...(filters.task_type ? { task_type: filters.task_type } : {}),
        ...(filters.min_reward ? { min_reward_usd: Number(filters.min_reward) } : {}),
        limit: PAGE,
        offset,
      });
      if (request !== latest.current) return;
      setTasks((previous) => (offset === 0 ? page.data : [...previous, ...page.data]));
      setTotal(page.pagination?.total ?? offset + page.data.length);
      setTotalExact(page.pagination?.total_exact ?? true);
      setMore(page.pagination?.has_more ?? false);
    } catch (failure) {
      if (request === latest.current) setError(explain(failure));
    } finally {
      if (request === latest.current) setLoading(false);
    }
  }, [tab, place, filters]);

  useEffect(() => {
    load(0);
  }, [load]);

  const retry = useCallback(() => load(0), [load]);
  const refresh = usePullToRefresh(retry);
  const types = TASK_TYPES.filter((type) => (CATEGORIES[type].domain === 'PHYSICAL') === (tab === 'nearby'));

  return (
    <section class="screen" aria-labelledby="feed-title" {...refresh.handlers}>
      {refresh.pulling && <p class="pull" aria-hidden="true">Release to refresh</p>}
      <h1 id="feed-title" tabIndex={-1} ref={heading}>Tasks</h1>
      <div class="tabs" role="tablist" aria-label="Kind of task">
        {(['nearby', 'remote'] as Tab[]).map((name) => (
          <button role="tab" id={`tab-${name}`} aria-selected={tab === name ? 'true' : 'false'} aria-controls="feed-panel" onClick={() => {
            setTab(name);
            setFilters({ ...filters, task_type: '' });
          }}>
            {name === 'nearby' ? 'Nearby' : 'Remote'}
          </button>
        ))}
      </div>
      <div id="feed-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'nearby' && (
          <LocationBar place={place} locating={locating} onLocate={locate} onPlace={(p) => {
            sessionStorage.setItem(PLACE_KEY, JSON.stringify(p));
            setPlace(p);
          }} profile={profile} />
        )}
        <details class="filters">
          <summary>Filters</summary>
          <label for="filter-type">Type</label>
          <select id="filter-type" value={filters.task_type} onChange={(e) => setFilters({ ...filters, task_type: e.currentTarget.value })}>
            <option value="">Any type</option>
            {types.map((type) => <option value={type}>{typeName(type)}</option>)}
          </select>
          {tab === 'nearby' && (
            <>
              <label for="filter-distance">Distance</label>
              <select id="filter-distance" value={filters.radius_km} onChange={(e) => setFilters({ ...filters, radius_km: e.currentTarget.value })}>
                {['1', '5', '10', '25', '50', '100'].map((d) => <option value={d}>Within {d} km</option>)}
              </select>
            </>
          )}
          <label for="filter-reward">Minimum reward (USD)</label>
          <input id="filter-reward" type="number" inputMode="decimal" min="0" step="1" value={filters.min_reward}
            onChange={(e) => setFilters({ ...filters, min_reward: e.currentTarget.value })} />
        </details>
        {tab === 'nearby' && place && (
          <div class="row" role="group" aria-label="Show tasks as">
            <button aria-pressed={view === 'list' ? 'true' : 'false'} onClick={() => setView('list')}>List</button>
            <button aria-pressed={view === 'map' ? 'true' : 'false'} onClick={() => setView('map')}>Map</button>
          </div>
        )}
        {tab === 'nearby' && place && view === 'map' && <TaskMapView tasks={tasks} centre={place} />}
        <div class="row">
          <p class="muted" role="status">{loading ? 'Loading tasks…' : `${total}${totalExact ? '' : '+'} open task${total === 1 && totalExact ? '' : 's'}`}</p>
          <button onClick={() => load(0)} disabled={loading}>Refresh</button>
        </div>
        {error && <LoadFailed message={error} onRetry={retry} />}
        <ul class="cards">
          {tasks.map((task) => <li key={task.task_id}><TaskCard task={task} /></li>)}
        </ul>
        {!loading && !error && tasks.length === 0 && (tab === 'remote' || place) && <p class="muted">No open tasks match. Try a wider distance or fewer filters.</p>}
        {more && <button class="wide" onClick={() => load(tasks.length)} disabled={loading}>Show more tasks</button>}
      </div>
    </section>
  );
}

function TaskCard({ task }: { task: OpenTask }) {
  const now = useNow(30_000);
  return (
    <a class="card" href={href({ name: 'task', id: task.task_id })}>
      <span class="card-top">
        <span class="title">{task.title}</span>
        <span class="reward">{usd(task.reward_usd)}</span>
      </span>
      <span class="card-meta">
        <span>{typeName(task.task_type)}</span>
        {task.distance_km !== undefined && <span>{km(task.distance_km)}</span>}
        <span>{timeLeft(task.deadline, now)}</span>
      </span>
    </a>
  );
}

function LocationBar({ place, locating, onLocate, onPlace, profile }: {
  place: Place | null; locating: string; onLocate: () => void; onPlace: (place: Place) => void; profile: OperatorProfile;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const home = profile.location.lat !== null && profile.location.lng !== null ? profile.location : null;
  const submit = (event: Event) => {
    event.preventDefault();
    // A typed place is "latitude, longitude" (as any maps app copies it).
    const match = typed.match(/^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/);
    const lat = match ? Number(match[1]) : NaN;
    const lng = match ? Number(match[2]) : NaN;
    if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) return setError('Type a latitude and longitude, such as 40.7128, -74.0060.');
    setError(null);
    onPlace({ lat, lng, label: `${lat.toFixed(4)}, ${lng.toFixed(4)}` });
  };
  const form = (
    <form onSubmit={submit} class="inline">
      <label for="place">Where are you? <span class="muted">(latitude, longitude)</span></label>
      <input id="place" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="40.7128, -74.0060"
        aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'place-error' : undefined} />
      {error && <p id="place-error" class="error" role="alert">{error}</p>}
      <div class="row">
        <button type="submit">Use this place</button>
        <button type="button" onClick={onLocate}>Use my location</button>
        {home && <button type="button" onClick={() => onPlace({ lat: home.lat!, lng: home.lng!, label: home.city })}>Near {home.city}</button>}
      </div>
    </form>
  );
  return (
    <div class="location">
      {locating === 'asking' && <p role="status">Finding your location…</p>}
      {locating === 'denied' && !place && <p class="notice" role="alert">We could not use your location. Type where you are instead.</p>}
      {place ? (
        <details>
          <summary>Near {place.label} · change</summary>
          {form}
        </details>
      ) : form}
    </div>
  );
}

/** Pull down at the top of the list to reload it (touch screens). The Refresh button does the same for everyone else. */
function usePullToRefresh(onRefresh: () => void) {
  const start = useRef<number | null>(null);
  const [pulling, setPulling] = useState(false);
  return {
    pulling,
    handlers: {
      onTouchStart: (event: TouchEvent) => {
        start.current = scrollY === 0 ? event.touches[0].clientY : null;
      },
      onTouchMove: (event: TouchEvent) => {
        if (start.current !== null) setPulling(event.touches[0].clientY - start.current > 70);
      },
      onTouchEnd: () => {
        if (pulling) onRefresh();
        start.current = null;
        setPulling(false);
      },
    },
  };
}
