-- each distinct (phone, region) in E.164, or null when not a valid number.
-- A Taiwanese mobile number written with ASCII or full-width digits and only spaces, dashes, dots or
-- brackets between them (09 + 8 digits, or +886 9 + 8 digits) has one E.164 form whatever phonenumbers'
-- metadata says about other numbers: it is computed here (by phonenumbers' TW metadata every such number is
-- valid: 90-98 mobile, 99 personal; tests/test_normalize.py checks the two agree). Every other number is
-- parsed by phonenumbers (sb_phone), once per distinct value.
with distinct_phones as (
    select distinct phone, region from int_identity__located where phone is not null
),
plain as (
    select phone, region, translate(phone, '０１２３４５６７８９', '0123456789') as text
    from distinct_phones
),
shaped as (
    select phone, region,
           case when region = 'TW' and regexp_matches(text, '^[0-9 ().-]+$')
                     and regexp_matches(regexp_replace(text, '[^0-9]', '', 'g'), '^09[0-9]{8}$')
                then '+886' || substr(regexp_replace(text, '[^0-9]', '', 'g'), 2)
                when region = 'TW' and regexp_matches(text, '^[+][0-9 ().-]+$')
                     and regexp_matches(regexp_replace(text, '[^0-9]', '', 'g'), '^8869[0-9]{8}$')
                then '+' || regexp_replace(text, '[^0-9]', '', 'g')
           end as mobile
    from plain
),
final as (
    select phone, region,
           case when mobile is null then sb_phone(phone, region)
                when list_contains(cast($placeholder_phones as varchar[]), mobile) then null
                else mobile end as phone_norm
    from shaped
)
select * from final
