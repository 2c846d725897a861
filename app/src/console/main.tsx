import { render } from 'preact';
import { Console } from './console.tsx';
import '../styles.css';
import './console.css';

render(<Console />, document.getElementById('app')!);
