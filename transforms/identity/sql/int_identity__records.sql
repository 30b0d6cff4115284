with normalised as (
    select l.*, e.email_norm, p.phone_norm, y.id_norm as loyalty_norm, g.id_norm as login_norm,
           n.name_key, n.family_key, s.street_key, c.postcode_norm,
           fp.part_norm as first_name_norm, mp.part_norm as middle_name_norm, lp.part_norm as last_name_norm,
           -- the one place that decides the area key: the source's postcode_key_length, else the identity one
           left(c.postcode_norm, coalesce(k.postcode_key_length, $postcode_key_length)) as postcode_key
    from int_identity__located as l
    left join int_identity__norm_email as e on e.email = l.email
    left join int_identity__norm_phone as p on p.phone = l.phone and p.region = l.region
    left join int_identity__norm_id as y on y.value = l.loyalty_id
    left join int_identity__norm_id as g on g.value = l.login_id
    left join int_identity__norm_name as n on n.full_name = l.full_name
    left join int_identity__norm_street as s on s.street = l.street
    left join int_identity__norm_postcode as c on c.postcode = l.postcode
    left join int_identity__norm_part as fp on fp.part = l.first_name
    left join int_identity__norm_part as mp on mp.part = l.middle_name
    left join int_identity__norm_part as lp on lp.part = l.last_name
    left join source_postcode_keys as k on k.system = l.system and k.entity = l.entity
),
split_names as (
    -- what the probabilistic model compares: given and family names from the source's own fields, else
    -- from a Chinese full name (family name first); a Latin full name alone is not split (its word order
    -- varies between systems): its records are compared on the order-insensitive name_key
    select *,
           case when first_name is not null or last_name is not null then first_name_norm
                when family_key is not null then nullif(substr(name_key, length(family_key) + 1), '')
           end as given_name,
           case when first_name is not null or last_name is not null then last_name_norm
                else family_key end as family_name
    from normalised
),
final as (
    select * exclude (first_name_norm, middle_name_norm, last_name_norm, middle_name, identifiers),
           middle_name_norm as middle_name,
           -- the identifiers the sources map (`identifiers: {national_id: SSN}`), normalised once for the strong
           -- keys (int_identity__all_keys) and the probabilistic model (splink.py): upper case, without spaces,
           -- dots, dashes and slashes; a value left empty is dropped
           case when identifiers is not null then to_json(map_from_entries(list_filter(list_transform(
               json_keys(identifiers),
               lambda k: {'key': k, 'value': nullif(regexp_replace(upper(trim(
                   json_extract_string(identifiers, '$."' || k || '"'))), '[\s./-]', '', 'g'), '')}),
               lambda e: e.value is not null))) end as identifiers_norm,
           split_part(email_norm, '@', 1) as email_local,
           split_part(email_norm, '@', 2) as email_domain,
           left(split_part(email_norm, '@', 1), 4) as email_prefix,
           right(phone_norm, 4) as phone_suffix
    from split_names
)
select * from final order by rid
