using System.Collections.Concurrent;
using System.Text.Json;
using AiGateway.Storage;

namespace AiGateway.Ledger;

/// <summary>
/// This instance's local, append-only log of the calls it admitted against its credit leases and has not recorded
/// yet: one line per call, its would-be <c>interrupted</c> record, appended before the call is forwarded. Should the
/// process die, the same instance's restart stores each logged call that has no record as interrupted
/// (<see cref="CreditLedger.RecordInterruptedAsync"/>), so no leased call waits for a database commit before it is
/// forwarded.
/// <para>
/// Durability: a plain write to the operating system (no fsync), the same as SQLite's <c>synchronous=NORMAL</c> gives
/// the ledger — it survives a killed process, not a lost machine. The log lives next to the instance id and the
/// settlement journal (one per instance). It is rewritten with only the calls still open at each lease refresh, so it
/// stays as small as what is in flight; the rewrite goes through a temporary file and a rename, so a crash leaves either
/// the old or the new log, both complete.
/// </para>
/// </summary>
internal sealed class AdmissionLog(string path) : IDisposable
{
    private readonly Lock _gate = new();
    // Calls logged and not recorded yet: what a rewrite keeps.
    private readonly ConcurrentDictionary<string, byte[]> _open = new();
    private FileStream? _stream;
    private long _appendedSinceRewrite;

    /// <summary>The log's path.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Calls logged and not yet recorded.</summary>
    public int Open => _open.Count;

    /// <summary>
    /// Appends the call's interrupted record (<paramref name="json"/>, one line) before the call is forwarded; throws
    /// when the log cannot be written (the caller then holds the call exactly in the database instead).
    /// </summary>
    public void Append(string requestId, ReadOnlySpan<byte> json)
    {
        var line = new byte[json.Length + 1];
        json.CopyTo(line);
        line[^1] = (byte)'\n';
        lock (_gate)
        {
            _stream ??= OpenForAppend();
            // Unbuffered stream: one write(2) straight to the operating system, no fsync (see the class comment).
            _stream.Write(line);
            _open[requestId] = line;
            _appendedSinceRewrite++;
        }
    }

    /// <summary>The call is recorded (or journaled with its record): a restart no longer needs it.</summary>
    public void Done(string requestId) => _open.TryRemove(requestId, out _);

    /// <summary>
    /// Rewrites the log with only the calls still open, when anything was appended since the last rewrite (called at
    /// each lease refresh): the log never grows beyond what is in flight plus one refresh interval of admissions.
    /// </summary>
    public void Compact()
    {
        lock (_gate)
        {
            if (_appendedSinceRewrite == 0) return;
            _stream?.Dispose();
            _stream = null;
            var temp = Path + ".tmp";
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                foreach (var line in _open.Values) file.Write(line);
            }
            File.Move(temp, Path, overwrite: true);
            _appendedSinceRewrite = 0;
        }
    }

    /// <summary>The records logged by this instance before it restarted (a torn last line from a crash is skipped).</summary>
    public List<CallRecord> ReadLeftOver()
    {
        var records = new List<CallRecord>();
        if (!File.Exists(Path)) return records;
        foreach (var line in File.ReadLines(Path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonSerializer.Deserialize(line, CallRecordJson.Default.CallRecord) is { } record) records.Add(record);
            }
            catch (JsonException)
            {
                // Torn by the crash mid-write: that call was never forwarded (the write precedes forwarding).
            }
        }
        return records;
    }

    /// <summary>Empties the log once its left-over calls are stored (start-up, before any new admission).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
            _open.Clear();
            _appendedSinceRewrite = 0;
            if (File.Exists(Path)) File.Delete(Path);
        }
    }

    private FileStream OpenForAppend()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        return new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
    }

    /// <summary>Closes the log file (its content stays for the next start).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}
