using System.Globalization;
using System.Text;

namespace AiGateway.Api;

/// <summary>Writes RFC 4180 CSV rows to a stream as they are produced, so an export never sits in memory whole.</summary>
internal sealed class CsvWriter(Stream output) : IAsyncDisposable
{
    // UTF-8 without a byte-order mark: the header row must start the body for parsers that do not strip one.
    private readonly StreamWriter _writer = new(output, new UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
    // A row is built here and handed to the writer asynchronously: Kestrel forbids the synchronous writes
    // a full StreamWriter buffer would otherwise make.
    private readonly StringBuilder _row = new();
    private bool _first = true;
    private int _rowsSinceFlush;

    /// <summary>Appends a text field, quoted when needed.</summary>
    public CsvWriter Text(string? value)
    {
        Separator();
        if (string.IsNullOrEmpty(value)) return this;
        // A spreadsheet would run a text field that starts like a formula; a leading apostrophe keeps it text.
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            _row.Append(value);
            return this;
        }
        _row.Append('"');
        _row.Append(value.Replace("\"", "\"\""));
        _row.Append('"');
        return this;
    }

    /// <summary>Appends an integer field.</summary>
    public CsvWriter Number(long value)
    {
        Separator();
        _row.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Appends a decimal field in invariant culture (a dot, no grouping).</summary>
    public CsvWriter Number(decimal value)
    {
        Separator();
        _row.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Appends a timestamp as ISO 8601 UTC, or an empty field.</summary>
    public CsvWriter Time(DateTimeOffset? value)
    {
        Separator();
        if (value is { } v) _row.Append(v.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Appends a header row of plain names and sends it at once, so the download starts before the first data row is read.</summary>
    public async Task HeaderAsync(params string[] names)
    {
        foreach (var name in names) Text(name);
        await EndRowAsync();
        await _writer.FlushAsync();
        await output.FlushAsync();
    }

    /// <summary>Ends the row; flushes to the client every few hundred rows so a long export starts arriving at once.</summary>
    public async Task EndRowAsync()
    {
        _row.Append("\r\n");
        _first = true;
        await _writer.WriteAsync(_row);
        _row.Clear();
        if (++_rowsSinceFlush >= 500)
        {
            _rowsSinceFlush = 0;
            await _writer.FlushAsync();
        }
    }

    private void Separator()
    {
        if (!_first) _row.Append(',');
        _first = false;
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.FlushAsync();
        // leaveOpen: the response body belongs to the server; only this writer's buffer is ours to release.
        await _writer.DisposeAsync();
    }
}
