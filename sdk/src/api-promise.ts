/**
 * What every API call returns: a promise of the parsed body that can also hand over the HTTP
 * response itself (status, headers, request id), as the Anthropic and OpenAI SDKs do.
 *
 *   const task = await client.tasks.retrieve(id);
 *   const { data, response, requestId } = await client.tasks.retrieve(id).withResponse();
 */

/** A response that arrived (after any retries), its body not read yet. */
export interface RawResponse {
  response: Response;
  requestId: string | null;
}

export class APIPromise<T> implements Promise<T> {
  readonly [Symbol.toStringTag] = 'APIPromise';
  readonly #raw: Promise<RawResponse>;
  readonly #parse: (raw: RawResponse) => Promise<T>;
  #parsed: Promise<T> | undefined;

  constructor(raw: Promise<RawResponse>, parse: (raw: RawResponse) => Promise<T>) {
    this.#raw = raw;
    this.#parse = parse;
  }

  /** The parsed body, read once however often it is awaited. */
  #data(): Promise<T> {
    return (this.#parsed ??= this.#raw.then(this.#parse));
  }

  /** The parsed body with the response it came in: `status`, `headers`, and the `X-Request-Id`. */
  async withResponse(): Promise<{ data: T; response: Response; requestId: string | null }> {
    const [data, raw] = await Promise.all([this.#data(), this.#raw]);
    return { data, response: raw.response, requestId: raw.requestId };
  }

  /** The response as it came, its body unread (do not also await the promise itself). */
  async asResponse(): Promise<Response> {
    return (await this.#raw).response;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#data().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#data().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#data().finally(onfinally);
  }
}

/** The pagination block of a paginated list. */
export interface Pagination {
  limit: number;
  offset: number;
  /** How many items match, over all pages, counted up to a cap (then `total_exact` is false). */
  total: number;
  total_exact?: boolean;
  has_more?: boolean;
  /** Where the next page starts (null on the last page): what `getNextPage()` follows. */
  next_cursor?: string | null;
}

/** Where a later page starts: after a cursor, or at an offset. */
export type PageStart = { cursor: string } | { offset: number };

/**
 * One page of a list. `for await (const item of page)` walks this page and every later one;
 * `getNextPage()` fetches the next one by hand. Lists that the API does not paginate are one page.
 */
export class Page<T> implements AsyncIterable<T> {
  readonly data: T[];
  readonly pagination?: Pagination;
  readonly #next: ((at: PageStart) => PagePromise<T>) | undefined;

  constructor(body: { data: T[]; pagination?: Pagination }, next?: (at: PageStart) => PagePromise<T>) {
    this.data = body.data;
    if (body.pagination) this.pagination = body.pagination;
    this.#next = next;
  }

  /** The page as the API sent it. */
  toJSON(): { data: T[]; pagination?: Pagination } {
    return this.pagination ? { data: this.data, pagination: this.pagination } : { data: this.data };
  }

  hasNextPage(): boolean {
    const p = this.pagination;
    if (!this.#next || !p || this.data.length === 0) return false;
    // A cursor, where the API gives one, goes on past a capped total and never skips or repeats.
    if (p.next_cursor !== undefined) return p.next_cursor !== null;
    return p.offset + this.data.length < p.total;
  }

  /** The next page; throws when there is none (check `hasNextPage()` first). */
  getNextPage(): PagePromise<T> {
    if (!this.hasNextPage()) throw new Error('No next page: check hasNextPage() first');
    const p = this.pagination!;
    return this.#next!(p.next_cursor ? { cursor: p.next_cursor } : { offset: p.offset + this.data.length });
  }

  /** This page and every later one, fetched as the loop gets to them. */
  async *iterPages(): AsyncGenerator<Page<T>> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/** A promise of the first page that can also be looped over directly: every item of every page. */
export class PagePromise<T> extends APIPromise<Page<T>> implements AsyncIterable<T> {
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* await this;
  }
}
