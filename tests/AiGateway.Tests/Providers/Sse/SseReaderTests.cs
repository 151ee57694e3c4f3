using System.Text;
using AiGateway.Providers.Sse;

namespace AiGateway.Tests.Providers.Sse;

public class SseReaderTests
{
    private sealed record Event(string Type, string Data);

    private static List<Event> ReadAll(SseReader reader, params string[] chunks)
    {
        var events = new List<Event>();
        foreach (var chunk in chunks)
        {
            ReadOnlySpan<byte> rest = Encoding.UTF8.GetBytes(chunk);
            while (!rest.IsEmpty)
            {
                var done = reader.Advance(rest, out var consumed);
                rest = rest[consumed..];
                if (!done) break;
                if (reader.HasEvent) events.Add(new Event(Encoding.UTF8.GetString(reader.EventType), Encoding.UTF8.GetString(reader.Data)));
            }
        }
        if (reader.Finish()) events.Add(new Event(Encoding.UTF8.GetString(reader.EventType), Encoding.UTF8.GetString(reader.Data)));
        return events;
    }

    [Fact]
    public void Advance_MultiLineData_JoinsWithLineFeed()
    {
        var events = ReadAll(new SseReader(), "data: first\ndata: second\ndata:third\n\n");
        Assert.Equal([new Event("", "first\nsecond\nthird")], events);
    }

    [Fact]
    public void Advance_EventLineAndComments_AreHandled()
    {
        var events = ReadAll(new SseReader(), ": keep-alive\n\nevent: ping\n: note\ndata: {}\nid: 7\nretry: 10\n\n");
        Assert.Equal([new Event("ping", "{}")], events);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Advance_AnyLineEnding_GivesSameEvents(string eol)
    {
        var text = $"event: a{eol}data: 1{eol}{eol}data: 2{eol}data: 3{eol}{eol}";
        Assert.Equal([new Event("a", "1"), new Event("", "2\n3")], ReadAll(new SseReader(), text));
    }

    [Fact]
    public void Advance_CrLfSplitAcrossChunks_IsOneLineBreak()
    {
        // If the LF after a chunk-final CR were taken as a second line end, "data: 1" would be dispatched too early.
        var events = ReadAll(new SseReader(), "data: 1\r", "\ndata: 2\r", "\n\r", "\n");
        Assert.Equal([new Event("", "1\n2")], events);
    }

    [Fact]
    public void Advance_SplitInsideMultiByteCharacter_KeepsCharacterIntact()
    {
        var bytes = Encoding.UTF8.GetBytes("data: 日本\n\n");
        var reader = new SseReader();
        Assert.False(reader.Advance(bytes.AsSpan(0, 7), out var consumed)); // cuts "日" after its first byte
        Assert.Equal(7, consumed);
        Assert.True(reader.Advance(bytes.AsSpan(7), out _));
        Assert.Equal("日本", Encoding.UTF8.GetString(reader.Data));
    }

    [Fact]
    public void Advance_DoneMarker_IsPlainData()
    {
        Assert.Equal([new Event("", "[DONE]")], ReadAll(new SseReader(), "data: [DONE]\n\n"));
    }

    [Fact]
    public void Advance_EmptyDataField_DispatchesEmptyEvent()
    {
        Assert.Equal([new Event("", "")], ReadAll(new SseReader(), "data\n\n"));
    }

    [Fact]
    public void Advance_BlockWithoutData_DispatchesNothing()
    {
        Assert.Empty(ReadAll(new SseReader(), "event: lonely\n\n"));
    }

    [Fact]
    public void Advance_EndlessLine_IsDroppedAndLaterEventsStillRead()
    {
        var reader = new SseReader(maxEventBytes: 64);
        var endless = "data: " + new string('x', 1000);
        var events = ReadAll(reader, endless[..500], endless[500..], "\n\ndata: ok\n\n");
        Assert.Equal([new Event("", "ok")], events);
    }

    [Fact]
    public void Advance_ManyDataLinesBeyondLimit_AreDropped()
    {
        var reader = new SseReader(maxEventBytes: 64);
        var lines = string.Concat(Enumerable.Repeat("data: 0123456789\n", 20));
        Assert.Equal([new Event("", "ok")], ReadAll(reader, lines + "\n", "data: ok\n\n"));
    }

    [Fact]
    public void Advance_LeadingByteOrderMark_IsIgnored()
    {
        Assert.Equal([new Event("", "x")], ReadAll(new SseReader(), "\uFEFFdata: x\n\n"));
    }

    [Fact]
    public void Finish_UnterminatedEvent_IsDispatchedLeniently()
    {
        Assert.Equal([new Event("", "tail")], ReadAll(new SseReader(), "data: tail"));
    }

    [Fact]
    public void WriteEvent_MultiLineData_BecomesSeveralDataLines()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        SseWriter.WriteEvent(output, "error"u8, "{\"a\":1}\r\n{\"b\":2}"u8);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.Equal("event: error\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n", text);
        Assert.Equal([new Event("error", "{\"a\":1}\n{\"b\":2}")], ReadAll(new SseReader(), text));
    }
}
