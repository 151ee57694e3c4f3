using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using AiGateway.Metering;

namespace AiGateway.Providers;

/// <summary>
/// Per-provider reading of stream events: usage, the terminal event and the text delivered so far.
/// One instance per attempt, so a retried call never carries usage over from a failed attempt.
/// </summary>
internal abstract class StreamUsageTracker
{
    /// <summary>Delivered text is only an estimate for partial charges; beyond this it stops growing.</summary>
    public const int MaxDeliveredChars = 1024 * 1024;

    private readonly StringBuilder _delivered = new();
    private CallUsage? _usage;

    /// <summary>The usage seen so far (the last report wins), or null — also once any report of the attempt was unreadable.</summary>
    public CallUsage? Usage
    {
        get => UsageUnreadable ? null : _usage;
        protected set => _usage = value;
    }

    /// <summary>Whether a usage report of this attempt could not be read; the call is then charged from counted tokens.</summary>
    public bool UsageUnreadable { get; private set; }

    /// <summary>Whether the provider's end-of-stream event arrived.</summary>
    public bool SawTerminalEvent { get; protected set; }

    /// <summary>The text deltas delivered so far, capped at <see cref="MaxDeliveredChars"/>.</summary>
    public string DeliveredText => _delivered.ToString();

    /// <summary>Reads one event; returns true when the event must be withheld from the client.</summary>
    public abstract bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data);

    /// <summary>
    /// Whether <see cref="OnEvent"/> may ask to withhold an event; only then does the observer pay for holding back
    /// (copying) every event until it is read.
    /// </summary>
    public virtual bool MayWithhold => false;

    /// <summary>Whether the stream's framing is only known from its first byte (then <see cref="CreateFraming"/> is asked).</summary>
    public virtual bool DetectsFraming => false;

    /// <summary>
    /// A reader for a framing other than SSE, chosen by the stream's first non-blank byte, or null to read SSE.
    /// The returned framing hands each complete element to this tracker.
    /// </summary>
    public virtual IStreamFraming? CreateFraming(byte firstByte, int maxElementBytes) => null;

    /// <summary>Runs a usage read; an unreadable report marks the attempt's usage unreadable (for good) and yields null.</summary>
    protected T? TryRead<T>(Func<T?> read) where T : class
    {
        if (UsageUnreadable) return null;
        try
        {
            return read();
        }
        catch (UnreadableUsageException)
        {
            UsageUnreadable = true;
            return null;
        }
    }

    /// <summary>How many characters of delivered text are collected so far (to undo a partly read event with <see cref="TruncateDelivered"/>).</summary>
    protected int DeliveredLength => _delivered.Length;

    /// <summary>Drops delivered text collected after <paramref name="length"/> characters.</summary>
    protected void TruncateDelivered(int length) => _delivered.Length = length;

    /// <summary>Appends a delivered text delta, respecting the cap.</summary>
    protected void AppendDelivered(string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        var room = MaxDeliveredChars - _delivered.Length;
        if (room <= 0) return;
        _delivered.Append(text, 0, Math.Min(room, text.Length));
    }

    /// <summary>Appends a string-valued property of <paramref name="obj"/> if present.</summary>
    protected void AppendDelivered(JsonElement obj, string name)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            AppendDelivered(v.GetString());
    }

    /// <summary>Parses an event's JSON data; null for non-JSON data such as <c>[DONE]</c> or a malformed event.</summary>
    protected static JsonDocument? TryParse(ReadOnlySpan<byte> data)
    {
        // Invalid UTF-8 would only throw later, when a string is read; such an event simply carries no usage.
        if (!Utf8.IsValid(data)) return null;
        try
        {
            var reader = new Utf8JsonReader(data, JsonFastRead.Options);
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            // A malformed event is passed through untouched; it just cannot contribute usage.
            return null;
        }
    }

    /// <summary>A tracker that reads nothing, for unmetered or non-streaming operations.</summary>
    public sealed class None : StreamUsageTracker
    {
        /// <summary>Ignores the event.</summary>
        public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data) => false;
    }
}

/// <summary>A non-SSE stream framing (Gemini's incremental JSON array): consumes raw chunks and feeds its tracker.</summary>
internal interface IStreamFraming
{
    /// <summary>Consumes one upstream chunk.</summary>
    void Feed(ReadOnlySpan<byte> chunk);
}
