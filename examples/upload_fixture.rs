//! Writes a photo-like JPEG for `scripts/bench-upload.sh`: smooth gradients plus sensor-like noise, which
//! compresses about as badly as a real photo. `cargo run --release --example upload_fixture -- OUT [W H [QUALITY]]`.

use std::io::BufWriter;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: upload_fixture OUT [WIDTH HEIGHT [QUALITY]]"))?;
    let width: u32 = args.next().map_or(Ok(2400), |w| w.parse())?;
    let height: u32 = args.next().map_or(Ok(1800), |h| h.parse())?;
    let quality: u8 = args.next().map_or(Ok(92), |q| q.parse())?;
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        i32::try_from(state % 48).unwrap_or(0) - 24
    };
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let base = [x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)];
        image::Rgb(base.map(|c| u8::try_from((i32::try_from(c).unwrap_or(0) + noise()).clamp(0, 255)).unwrap_or(0)))
    });
    let file = BufWriter::new(std::fs::File::create(&out)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, quality).encode_image(&image)?;
    println!("{out}: {width} x {height}, {} bytes", std::fs::metadata(&out)?.len());
    Ok(())
}
