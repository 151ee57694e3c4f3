using System.Buffers;
using System.Runtime.CompilerServices;

namespace AiGateway.Tokenizers;

/// <summary>
/// tiktoken's rank-based merge: repeatedly merge the adjacent pair whose concatenation has the
/// lowest rank, leftmost on ties, until no adjacent pair is a token.
/// </summary>
internal static class BytePairMerger
{
    // Up to this size the quadratic array scan (tiktoken's own strategy) wins on cache locality;
    // above it a heap keeps very long pieces (e.g. 1 MB of one letter) at O(n log n).
    private const int LinearLimit = 96;

    /// <summary>Merges <paramref name="piece"/> (at least 2 bytes) and appends its token ids, or only counts them when <paramref name="output"/> is null.</summary>
    [SkipLocalsInit]
    public static int Merge(BpeVocabulary vocab, ReadOnlySpan<byte> piece, List<int>? output)
    {
        if (piece.Length <= LinearLimit)
        {
            Span<int> starts = stackalloc int[LinearLimit + 1];
            Span<int> ranks = stackalloc int[LinearLimit + 1];
            Span<int> tokens = stackalloc int[LinearLimit + 1];
            return MergeLinear(vocab, piece, starts, ranks, tokens, output);
        }
        return MergeHeap(vocab, piece, output);
    }

    private static int MergeLinear(BpeVocabulary vocab, ReadOnlySpan<byte> piece,
        Span<int> starts, Span<int> ranks, Span<int> tokens, List<int>? output)
    {
        // Part k spans piece[starts[k]..starts[k+1]); ranks[k] is the rank of parts k and k+1 merged.
        int n = piece.Length;
        int parts = n;
        int minRank = BpeVocabulary.NotFound, minIndex = -1;
        for (int i = 0; i < n; i++)
        {
            starts[i] = i;
            tokens[i] = vocab.ByteRank(piece[i]);
            int r = i + 1 < n ? vocab.PairRank(piece[i], piece[i + 1]) : BpeVocabulary.NotFound;
            ranks[i] = r;
            if (r < minRank) { minRank = r; minIndex = i; }
        }
        starts[n] = n;

        while (minRank != BpeVocabulary.NotFound)
        {
            int i = minIndex;
            tokens[i] = minRank;
            // Remove part i+1 by shifting; n is small here so this is cheaper than a linked list.
            int tail = parts - (i + 2);
            starts.Slice(i + 2, tail + 1).CopyTo(starts.Slice(i + 1));
            tokens.Slice(i + 2, tail).CopyTo(tokens.Slice(i + 1));
            ranks.Slice(i + 2, tail).CopyTo(ranks.Slice(i + 1));
            parts--;
            ranks[i] = i + 1 < parts ? vocab.Rank(piece[starts[i]..starts[i + 2]]) : BpeVocabulary.NotFound;
            if (i > 0) ranks[i - 1] = vocab.Rank(piece[starts[i - 1]..starts[i + 1]]);

            minRank = BpeVocabulary.NotFound;
            for (int k = 0; k < parts - 1; k++)
            {
                if (ranks[k] < minRank) { minRank = ranks[k]; minIndex = k; }
            }
        }

        if (output != null)
        {
            for (int k = 0; k < parts; k++) output.Add(tokens[k]);
        }
        return parts;
    }

    private static int MergeHeap(BpeVocabulary vocab, ReadOnlySpan<byte> piece, List<int>? output)
    {
        int n = piece.Length;
        var pool = ArrayPool<int>.Shared;
        int[] next = pool.Rent(n), prev = pool.Rent(n), rank = pool.Rent(n), token = pool.Rent(n);
        var heap = new MinHeap(3 * n);
        try
        {
            // Parts are identified by their start byte; next[i] is the following part's start (n at the end).
            for (int i = 0; i < n; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                token[i] = vocab.ByteRank(piece[i]);
                int r = i + 1 < n ? vocab.PairRank(piece[i], piece[i + 1]) : BpeVocabulary.NotFound;
                rank[i] = r;
                if (r != BpeVocabulary.NotFound) heap.Push(r, i);
            }

            int parts = n;
            while (heap.TryPop(out int r, out int i))
            {
                // Stale entries: a rank names one byte sequence, so an entry is current iff it still equals rank[i].
                if (rank[i] != r) continue;
                int j = next[i];
                int after = next[j];
                token[i] = r;
                next[i] = after;
                if (after < n) prev[after] = i;
                rank[j] = -1;
                parts--;

                int nr = after < n ? vocab.Rank(piece[i..next[after]]) : BpeVocabulary.NotFound;
                rank[i] = nr;
                if (nr != BpeVocabulary.NotFound) heap.Push(nr, i);
                int p = prev[i];
                if (p >= 0)
                {
                    int pr = vocab.Rank(piece[p..after]);
                    rank[p] = pr;
                    if (pr != BpeVocabulary.NotFound) heap.Push(pr, p);
                }
            }

            if (output != null)
            {
                for (int i = 0; i < n; i = next[i]) output.Add(token[i]);
            }
            return parts;
        }
        finally
        {
            heap.Dispose();
            pool.Return(next);
            pool.Return(prev);
            pool.Return(rank);
            pool.Return(token);
        }
    }

    /// <summary>Binary min-heap of (rank, start) packed into longs so ties break leftmost, like tiktoken's scan.</summary>
    private struct MinHeap : IDisposable
    {
        private long[] _items;
        private int _count;

        public MinHeap(int capacity) => _items = ArrayPool<long>.Shared.Rent(Math.Max(capacity, 4));

        public void Push(int rank, int start)
        {
            if (_count == _items.Length)
            {
                var bigger = ArrayPool<long>.Shared.Rent(_items.Length * 2);
                _items.AsSpan(0, _count).CopyTo(bigger);
                ArrayPool<long>.Shared.Return(_items);
                _items = bigger;
            }
            long item = ((long)rank << 32) | (uint)start;
            int k = _count++;
            while (k > 0)
            {
                int parent = (k - 1) >> 1;
                if (_items[parent] <= item) break;
                _items[k] = _items[parent];
                k = parent;
            }
            _items[k] = item;
        }

        public bool TryPop(out int rank, out int start)
        {
            if (_count == 0) { rank = start = 0; return false; }
            long top = _items[0];
            long last = _items[--_count];
            int k = 0;
            while (true)
            {
                int child = 2 * k + 1;
                if (child >= _count) break;
                if (child + 1 < _count && _items[child + 1] < _items[child]) child++;
                if (_items[child] >= last) break;
                _items[k] = _items[child];
                k = child;
            }
            _items[k] = last;
            rank = (int)(top >> 32);
            start = (int)(uint)top;
            return true;
        }

        public void Dispose() => ArrayPool<long>.Shared.Return(_items);
    }
}
