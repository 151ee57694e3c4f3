using System.Buffers;
using System.Buffers.Binary;

namespace AiGateway.Tokenizers;

/// <summary>Reads pixel dimensions from the header of a base64 data URL image without decoding the pixels.</summary>
internal static class ImageDimensions
{
    // JPEG SOF markers can sit after large EXIF blocks, so decode a generous prefix (still bounded).
    private const int MaxHeaderBytes = 256 * 1024;

    /// <summary>Tries to read width and height from a "data:image/...;base64," URL.</summary>
    public static bool TryFromDataUrl(string url, out int width, out int height)
    {
        width = height = 0;
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase)) return false;
        int comma = url.IndexOf(',');
        if (comma < 0 || url.AsSpan(0, comma).IndexOf(";base64", StringComparison.OrdinalIgnoreCase) < 0) return false;
        var b64 = url.AsSpan(comma + 1);
        int take = Math.Min(b64.Length, MaxHeaderBytes / 3 * 4) & ~3;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(take / 4 * 3 + 3);
        try
        {
            if (!Convert.TryFromBase64Chars(b64[..take], buffer, out int n)) return false;
            return TryRead(buffer.AsSpan(0, n), out width, out height);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Tries to read width and height from the start of a PNG, JPEG, GIF or WebP file.</summary>
    public static bool TryRead(ReadOnlySpan<byte> d, out int width, out int height)
    {
        width = height = 0;
        if (d.Length >= 24 && d[..8].SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }))
        {
            width = (int)BinaryPrimitives.ReadUInt32BigEndian(d[16..]);
            height = (int)BinaryPrimitives.ReadUInt32BigEndian(d[20..]);
            return width > 0 && height > 0;
        }
        if (d.Length >= 10 && d[0] == (byte)'G' && d[1] == (byte)'I' && d[2] == (byte)'F')
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(d[8..]);
            return width > 0 && height > 0;
        }
        if (d.Length >= 30 && d[..4].SequenceEqual("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8))
            return TryReadWebP(d, out width, out height);
        if (d.Length >= 4 && d[0] == 0xFF && d[1] == 0xD8)
            return TryReadJpeg(d, out width, out height);
        return false;
    }

    private static bool TryReadJpeg(ReadOnlySpan<byte> d, out int width, out int height)
    {
        width = height = 0;
        int i = 2;
        while (i + 9 < d.Length)
        {
            if (d[i] != 0xFF) return false;
            byte marker = d[i + 1];
            if (marker == 0xFF) { i++; continue; }
            int len = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 2)..]);
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                height = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 7)..]);
                return width > 0 && height > 0;
            }
            i += 2 + len;
        }
        return false;
    }

    private static bool TryReadWebP(ReadOnlySpan<byte> d, out int width, out int height)
    {
        width = height = 0;
        var chunk = d.Slice(12, 4);
        if (chunk.SequenceEqual("VP8X"u8))
        {
            width = 1 + (d[24] | d[25] << 8 | d[26] << 16);
            height = 1 + (d[27] | d[28] << 8 | d[29] << 16);
        }
        else if (chunk.SequenceEqual("VP8 "u8))
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(d[26..]) & 0x3FFF;
            height = BinaryPrimitives.ReadUInt16LittleEndian(d[28..]) & 0x3FFF;
        }
        else if (chunk.SequenceEqual("VP8L"u8))
        {
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(d[21..]);
            width = (int)(bits & 0x3FFF) + 1;
            height = (int)((bits >> 14) & 0x3FFF) + 1;
        }
        return width > 0 && height > 0;
    }
}
