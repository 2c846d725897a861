/**
 * Where the operator lives, for agents to find them: the browser's position, or a place typed as
 * latitude and longitude, kept to about a kilometre (see home-area.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import type { FieldErrors } from '../form-errors.ts';
import { marked } from '../form-errors.ts';
import { type HomeArea, locateHome, parsePlace } from '../home-area.ts';
import { FieldError } from './field-error.tsx';

export function HomeAreaField({ home, onChange, errors, onProblem, locateAtOnce }: {
  home: HomeArea | null; onChange: (home: HomeArea | null) => void; errors: FieldErrors; onProblem: (problem: string | null) => void;
  /** Ask for the position as soon as the form shows (registration), rather than on the button. */
  locateAtOnce?: boolean;
}) {
  const [typed, setTyped] = useState('');
  const [locating, setLocating] = useState<'idle' | 'asking' | 'refused'>('idle');

  const locate = async () => {
    setLocating('asking');
    try {
      onChange(await locateHome());
      onProblem(null);
      setLocating('idle');
    } catch {
      setLocating('refused');
    }
  };

  useEffect(() => {
    if (locateAtOnce && !home) locate();
  }, []);

  const useTyped = () => {
    const place = parsePlace(typed);
    if (!place) return onProblem('Type your home area as latitude and longitude, such as 40.7128, -74.0060.');
    onProblem(null);
    onChange(place);
    setTyped('');
  };

  return (
    <fieldset class="home-area" id="home" tabIndex={-1}>
      <legend>Home area <span class="muted">(so requesters nearby can find you)</span></legend>
      <p id="home-hint" class="hint">We keep it to about a kilometre and show requesters only a distance of a few kilometres, never your address.</p>
      <p role="status">
        {locating === 'asking' ? 'Finding your location…' : home ? `Set near ${home.lat.toFixed(2)}, ${home.lng.toFixed(2)}.` : 'Not set yet.'}
      </p>
      {locating === 'refused' && <p class="notice">We could not use your location. Type where you live instead.</p>}
      <div class="row">
        <button type="button" onClick={locate}>Use my location</button>
        {home && <button type="button" onClick={() => onChange(null)}>Clear</button>}
      </div>
      <label for="home-place">Or type it <span class="muted">(latitude, longitude)</span></label>
      <div class="row">
        <input id="home-place" value={typed} placeholder="40.7128, -74.0060" {...marked(errors, 'home', 'home-hint')}
          onInput={(event) => setTyped(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter') {
              event.preventDefault();
              useTyped();
            }
          }} />
        <button type="button" onClick={useTyped}>Use this place</button>
      </div>
      <FieldError errors={errors} id="home" />
    </fieldset>
  );
}
